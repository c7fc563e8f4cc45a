"""`python -m drill {failover,restore,all} --target {local,aws}`: run a DR drill and write its report.

local: brings up the two-region environment (devstack.regions), drills it, tears it down.
aws:   drills the deployed stacks named by `pulumi stack output --json` files; `--dry-run` prints
       every step without calling AWS. Before its first write it names the AWS account and makes a
       read-only call for every resource and permission it can check, reporting each that fails.
Exit status: 0 objectives met, 1 an objective missed or a check failed, 2 the drill could not start
(an outputs file, the report directory, credentials, a permission or a resource, an unhealthy region).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from drill.failover import Pacing, PreflightFailed, run_failover
from drill.model import FailoverResult, Objectives, RestoreResult
from drill.report import Verdict, unwritable, write_report
from drill.restore import run_restore
from drill.targets import (
    LOCAL_REPLICATION_DELAY_MS,
    Access,
    AwsTarget,
    OutputsFileError,
    Target,
    load_stacks,
    local_target,
)

log = logging.getLogger("ame.drill")


def drill(command: str, target: Target, objectives: Objectives, pacing: Pacing) -> Verdict:
    failover: FailoverResult | None = None
    restore: RestoreResult | None = None
    if command in ("failover", "all"):
        failover = run_failover(target, pacing)
    if command in ("restore", "all"):
        restore = run_restore(target.data, target.primary, target.data.names.orders_table)
    return Verdict(objectives, failover, restore)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drill", description=__doc__)
    parser.add_argument("command", choices=["failover", "restore", "all"])
    parser.add_argument("--target", choices=["local", "aws"], default="local")
    parser.add_argument("--report-dir", type=Path, default=Path("drill-report"))
    parser.add_argument("--rpo-seconds", type=float, default=Objectives.from_env().rpo_seconds)
    parser.add_argument("--rto-seconds", type=float, default=Objectives.from_env().rto_seconds)
    parser.add_argument("--hold-seconds", type=float, default=Pacing().hold_on_dr_seconds, help="time served by DR")
    parser.add_argument(
        "--replication-delay-ms", type=float, default=LOCAL_REPLICATION_DELAY_MS, help="local: modelled lag"
    )
    parser.add_argument("--prod-outputs", type=Path, help="aws: `pulumi stack output --json --stack prod` saved")
    parser.add_argument("--dr-outputs", type=Path, help="aws: `pulumi stack output --json --stack dr` saved")
    parser.add_argument("--dry-run", action="store_true", help="aws: print every step, call nothing")
    args = parser.parse_args(argv)
    # The drill's own progress at AME_LOG_LEVEL; libraries (botocore) only when they warn.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    log.setLevel(os.environ.get("AME_LOG_LEVEL", "INFO"))
    objectives = Objectives(rpo_seconds=args.rpo_seconds, rto_seconds=args.rto_seconds)
    pacing = Pacing(hold_on_dr_seconds=args.hold_seconds)
    aws: AwsTarget | None = None
    if args.target == "aws":
        if not (args.prod_outputs and args.dr_outputs):
            parser.error("--target aws needs --prod-outputs and --dr-outputs")
        try:
            aws = AwsTarget(*load_stacks(args.prod_outputs, args.dr_outputs))
        except OutputsFileError as error:
            return stop(str(error))
        if args.dry_run:
            steps = aws.plan(args.command, args.report_dir)
            print("\n".join(f"{n:2}. {step}" for n, step in enumerate(steps, start=1)))
            return 0
    if problem := unwritable(args.report_dir):
        return stop(problem)
    try:
        if aws is not None:
            if not granted(aws.check_access()):
                return 2
            verdict = drill(args.command, aws, objectives, pacing)
        else:
            with local_target(args.replication_delay_ms) as local:
                verdict = drill(args.command, local, objectives, pacing)
    except PreflightFailed as error:
        return stop(f"preflight failed: {error}")
    write_report(verdict, args.report_dir)
    summary = {k: v for k, v in verdict.as_dict().items() if k not in ("failover", "restore")}
    print(json.dumps(summary, indent=2))
    print(f"report: {args.report_dir / 'report.md'}", file=sys.stderr)
    return 0 if verdict.met else 1


def granted(access: Access) -> bool:
    """Says who the drill acts as and, one line each, every check that failed: the drill starts only if none did."""
    if access.identity is not None:
        print(f"target: {access.identity}", file=sys.stderr)
    for problem in access.problems:
        print(f"drill: {problem}", file=sys.stderr)
    if access.problems:
        print("drill: nothing was changed; fix the above and run again", file=sys.stderr)
    return not access.problems


def stop(problem: str) -> int:
    print(f"drill: {problem}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
