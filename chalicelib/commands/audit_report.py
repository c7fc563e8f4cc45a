"""Who used a person's data, and when: every recorded access to it, newest first (a data subject's LGPD request).

    python -m chalicelib.commands.audit_report 70000000230 --target local [--since 2025-01-01] [--until ...] [--json]
    AWS_REGION=us-east-1 python -m chalicelib.commands.audit_report 70000000230 --target aws \\
        --audit-bucket BUCKET --secret-parameter NAME   # or AME_AUDIT_BUCKET and AME_APP_SECRET_PARAMETER

local reads what the local stack copied from its API's output (`.devstack/audit/*.jsonl`) and hashes the
document with the local stack's secret; aws reads the audit bucket's `audit/` objects (CloudWatch Logs ->
Firehose) and hashes with the application secret from SSM, so both find the records the API wrote.
Records name people only by keyed hashes; the report prints no other person's identifier, and of the
subject only the masked document and a prefix of its hash. Exit status: 0 (also when nothing was found),
1 when AWS refuses a call, 2 when the document, a date or the target is invalid (nothing read).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

from chalicelib.adapters.audit_log import AUDIT_PREFIX, LocalAuditLog, S3AuditLog
from chalicelib.audit.errors import InvalidReportRequest
from chalicelib.audit.model import AuditRecord, ReportRequest, SubjectReport
from chalicelib.audit.ports import AuditLog
from chalicelib.audit.requests import parse_report_request
from chalicelib.audit.services import subject_report
from chalicelib.audit.wire import masked_hash, report_to_wire
from chalicelib.commands.target import TargetError, aws_errors, resolve_target
from chalicelib.keys import AppKeys

LOCAL_AUDIT_DIR = Path(__file__).resolve().parents[2] / ".devstack" / "audit"
COLUMNS = ("when (UTC)", "area", "client", "operation", "action", "resource", "status")
REFUSED = "nothing read"


class Refused(Exception):
    """The report cannot be asked as given (exit 2, nothing read)."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        request = parse_report_request(args.document, args.since, args.until)
        log, key = _open_local(args) if args.target == "local" else _open_aws(args)
    except (InvalidReportRequest, TargetError, Refused) as exc:
        print(f"{REFUSED}: {exc.message if isinstance(exc, InvalidReportRequest) else exc}", file=sys.stderr)
        return 2
    except aws_errors() as exc:
        print(f"report stopped: {exc}", file=sys.stderr)
        return 1
    try:
        report = subject_report(log, key, request)
    except aws_errors() as exc:
        print(f"report stopped: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report_to_wire(report), indent=2, ensure_ascii=False) if args.json else render(report))
    if log.unreadable:
        print(f"note: {log.unreadable} unreadable audit entries were skipped", file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("document", help="the data subject's CPF or CNPJ (formatted or digits only)")
    parser.add_argument("--target", choices=("local", "aws"), required=True, help="local files or the audit bucket")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, else us-east-1)")
    parser.add_argument("--since", help="first UTC day to report, YYYY-MM-DD (default: everything recorded)")
    parser.add_argument("--until", help="last UTC day to report, YYYY-MM-DD (default: up to now)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--audit-dir", type=Path, default=LOCAL_AUDIT_DIR, help="local: where the records are")
    parser.add_argument("--audit-bucket", help="aws: the audit bucket (default: AME_AUDIT_BUCKET)")
    parser.add_argument("--audit-prefix", default=AUDIT_PREFIX, help=f"aws: the records' prefix ({AUDIT_PREFIX})")
    parser.add_argument(
        "--secret-parameter", help="aws: SSM SecureString holding the app secret (default: AME_APP_SECRET_PARAMETER)"
    )
    return parser


def _open_local(args: argparse.Namespace) -> tuple[AuditLog, bytes]:
    from devstack.stack import LOCAL_APP_SECRET

    print(f"target: local audit log {args.audit_dir}/*.jsonl", file=sys.stderr, flush=True)
    return LocalAuditLog(args.audit_dir), AppKeys.from_secret(LOCAL_APP_SECRET.encode()).audit_subject


def _open_aws(args: argparse.Namespace) -> tuple[AuditLog, bytes]:
    """Names the account, the bucket and the parameter before the first read."""
    target = resolve_target("aws", os.environ, args.region)
    bucket = args.audit_bucket or os.environ.get("AME_AUDIT_BUCKET")
    parameter = args.secret_parameter or os.environ.get("AME_APP_SECRET_PARAMETER")
    if not bucket:
        raise Refused("no audit bucket: give --audit-bucket or set AME_AUDIT_BUCKET (a stack output)")
    if not parameter:
        raise Refused("no application secret: give --secret-parameter or set AME_APP_SECRET_PARAMETER")
    where = f"audit log s3://{bucket}/{args.audit_prefix}, secret from SSM {parameter}"
    print(f"{target.describe()}; {where}", file=sys.stderr, flush=True)
    target.apply(os.environ)
    import boto3

    secret = boto3.client("ssm", region_name=target.region).get_parameter(Name=parameter, WithDecryption=True)
    try:
        key = AppKeys.from_secret(secret["Parameter"]["Value"].encode()).audit_subject
    except ValueError as exc:
        raise Refused(f"SSM {parameter}: {exc}") from None
    return S3AuditLog(boto3.client("s3", region_name=target.region), bucket, args.audit_prefix), key


def render(report: SubjectReport) -> str:
    """A header naming the subject (masked), one row per access, and a count line."""
    request = report.request
    header = f"subject: {request.masked_document} (hash {masked_hash(report.subject)}), {_period(request)}"
    rows = [COLUMNS, *(_row(r) for r in report.records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    table = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join([header, *table, _count(report)])


def _row(record: AuditRecord) -> tuple[str, ...]:
    return (
        record.at.strftime("%Y-%m-%d %H:%M:%S"),
        record.area_id or "-",
        record.client_id or "(no valid token)",
        record.operation,
        record.action,
        record.resource or "-",
        f"{record.status} {record.outcome.value}",
    )


def _period(request: ReportRequest) -> str:
    since = f"from {request.since:%Y-%m-%d}" if request.since else "from the first record"
    last_day = request.until - timedelta(days=1) if request.until else None
    return f"{since} through {last_day:%Y-%m-%d} (UTC)" if last_day else f"{since} until now"


def _count(report: SubjectReport) -> str:
    accesses = _plural(len(report.records), "access", "accesses")
    if not report.records:
        return f"{accesses} recorded"
    return f"{accesses} by {_plural(len(report.clients), 'client')} of {_plural(len(report.areas), 'area')}"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


if __name__ == "__main__":
    raise SystemExit(main())
