"""Takes a region of `make run-dr` out of service, or puts it back: the SSM switch its `/v1/health` reads.

`python -m devstack.switch us-east-1 out` sets `/ame-platform/us-east-1/out-of-service` to `true` on the
local AWS endpoint (`AWS_ENDPOINT_URL`, else 127.0.0.1 on `AME_AWS_PORT`, 8100); `in` sets it to `false`.
The region's `/v1/health` answers 503 once its cached value expires (5 s), and the router fails over
after its threshold of failed checks. In AWS the drill flips the same parameter (`--target aws`).
"""

from __future__ import annotations

import argparse
import sys

from chalicelib.commands.target import CommandTarget, run_on_target
from chalicelib.settings import region_switch_parameter

STATES = ("in", "out")


def flip(region: str, state: str, target: CommandTarget) -> str:
    import boto3

    from chalicelib.adapters.ssm_switch import set_out_of_service

    name = region_switch_parameter(region)
    ssm = boto3.client("ssm", region_name=region, endpoint_url=target.endpoint_url)
    value = set_out_of_service(ssm, name, out_of_service=state == "out")
    meaning = "out of service: its /v1/health answers 503" if state == "out" else "in service again"
    return f"switch: {name} = {value} on {target.endpoint_url}: {region} is {meaning}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("region", help="e.g. us-east-1 (make run-dr's primary) or us-west-2 (its DR region)")
    parser.add_argument("state", choices=STATES)
    args = parser.parse_args(argv)
    local = argparse.Namespace(target="local", region=args.region)
    return run_on_target(local, lambda target: flip(args.region, args.state, target), refused="switch")


if __name__ == "__main__":
    sys.exit(main())
