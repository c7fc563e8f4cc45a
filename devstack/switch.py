"""Holds the primary of `make run-dr` out of service, or puts it back: the failover switch, set from the standby.

`python -m devstack.switch us-east-1 out` sets the alarm `ame-platform-primary-out-of-service` in
us-west-2 (the standby) to ALARM on the local AWS endpoint (`AWS_ENDPOINT_URL`, else 127.0.0.1 on
`AME_AWS_PORT`, 8100), after putting 1 on its metric; `in` puts 0 and sets it to OK. While it is
set the primary is fenced: its `/v1/health` and its writes answer 503 and its worker and sweeper
idle, so the router fails over after its threshold of failed checks and never fails back on its
own. In AWS the runbook and the drill (`--target aws`) write the same alarm the same way.
"""

from __future__ import annotations

import argparse
import sys

from chalicelib.commands.target import CommandTarget, run_on_target
from chalicelib.settings import FAILOVER_SWITCH_ALARM

STATES = ("in", "out")
PRIMARY, STANDBY = "us-east-1", "us-west-2"
"""`make run-dr`'s regions (devstack.regions names them too; not imported: it starts nothing here)."""


def flip(region: str, state: str, target: CommandTarget) -> str:
    import boto3

    from chalicelib.adapters.failover_switch import set_primary_out_of_service

    cloudwatch = boto3.client("cloudwatch", region_name=STANDBY, endpoint_url=target.endpoint_url)
    alarm = set_primary_out_of_service(cloudwatch, out_of_service=state == "out")
    meaning = (
        "out of service: fenced, its /v1/health and writes answer 503 until the switch is cleared"
        if state == "out"
        else "in service again: routing returns once its health checks pass"
    )
    return f"switch: {FAILOVER_SWITCH_ALARM} in {STANDBY} = {alarm} on {target.endpoint_url}: {region} is {meaning}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("region", choices=[PRIMARY], help="the primary (make run-dr's us-east-1): only it is fenced")
    parser.add_argument("state", choices=STATES)
    args = parser.parse_args(argv)
    local = argparse.Namespace(target="local", region=STANDBY)
    return run_on_target(local, lambda target: flip(args.region, args.state, target), refused="switch")


if __name__ == "__main__":
    sys.exit(main())
