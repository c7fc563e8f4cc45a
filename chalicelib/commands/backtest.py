"""Backtest a candidate credit policy against real decisions or a file of applications.

    python -m chalicelib.commands.backtest --candidate new-policy.json --input applications.jsonl
    python -m chalicelib.commands.backtest --candidate new-policy.json --from-table --target local|aws
    python -m chalicelib.commands.backtest --candidate new.json --baseline current.json --input apps.csv

Without --baseline, stored decisions are compared with what was actually decided, and file
applications with the bundled default policy. Exit status 0; --json prints the report as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.commands.target import CommandTarget, add_target_argument, run_on_target
from chalicelib.credit.backtest import Case, as_json, backtest, cases_from_decisions, cases_from_file, render
from chalicelib.credit.engine import CompiledPolicy
from chalicelib.credit.errors import PolicyError
from chalicelib.credit.policy import default_policy, load_policy_text


def _policy(path: str) -> CompiledPolicy:
    return CompiledPolicy(load_policy_text(Path(path).read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidate", required=True, help="policy document (JSON) to evaluate")
    parser.add_argument("--baseline", help="policy document to compare with (default: recorded outcomes / default)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="JSONL (stored decisions or applications) or CSV of applications")
    source.add_argument("--from-table", action="store_true", help="every decision stored in the credit table")
    parser.add_argument("--show", type=int, default=20, help="how many flipped applications to list")
    parser.add_argument("--json", action="store_true")
    add_target_argument(parser, required=False)
    args = parser.parse_args(argv)
    if args.from_table and args.target is None:
        parser.error("--from-table reads a credit table: say which with --target local|aws")
    try:
        candidate = _policy(args.candidate)
        baseline = _policy(args.baseline) if args.baseline else None
    except PolicyError as exc:
        print(f"invalid policy: {exc}", file=sys.stderr)
        return 2

    def show(cases: list[Case], baseline: CompiledPolicy | None) -> str:
        report = backtest(cases, candidate, baseline)
        return json.dumps(as_json(report), indent=2) if args.json else render(report, args.show)

    if args.from_table:
        from chalicelib.bootstrap import credit_store_from_env

        def from_table(_: CommandTarget) -> str:
            return show(cases_from_decisions(credit_store_from_env(os.environ).all_decisions()), baseline)

        return run_on_target(args, from_table, refused="nothing read", stopped="could not read the stored decisions")
    text = Path(args.input).read_text()
    print(
        show(cases_from_file(text, args.input, datetime.now(UTC).date()), baseline or CompiledPolicy(default_policy()))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
