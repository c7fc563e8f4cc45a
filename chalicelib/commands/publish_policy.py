"""Validates a credit policy document and makes it the active one (picked up within the TTL).

    python -m chalicelib.commands.publish_policy path/to/policy.json --target local|aws

Run a backtest first. Every published version is kept in the table next to the active one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from chalicelib.bootstrap import credit_store_from_env
from chalicelib.commands.target import CommandTarget, add_target_argument, run_on_target
from chalicelib.credit.errors import PolicyError
from chalicelib.credit.policy import load_policy_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("policy", help="policy document (JSON)")
    add_target_argument(parser)
    args = parser.parse_args(argv)
    text = Path(args.policy).read_text()
    try:
        policy = load_policy_text(text)
    except PolicyError as exc:
        print(f"invalid policy, nothing published: {exc}", file=sys.stderr)
        return 2

    def publish(_: CommandTarget) -> str:
        credit_store_from_env(os.environ).publish_policy(text, policy.policy_id, policy.version, policy.hash)
        return f"published {policy.policy_id} {policy.version} ({policy.hash})"

    return run_on_target(args, publish, refused="nothing published")


if __name__ == "__main__":
    raise SystemExit(main())
