"""`python -m lake traffic|run|backfill|report` (make lake-traffic, make lake, make lake-backfill).

Local by default: the local stack's endpoint (AWS_ENDPOINT_URL, else 127.0.0.1:AME_AWS_PORT) with its
administrator's placeholder credentials, the stack's app secret for pseudonyms (AME_APP_SECRET, or
the secret AME_APP_SECRET_PARAMETER names in SSM), the simulated bureau (AME_BUREAU_URL, else
127.0.0.1:AME_PARTNERS_PORT), and the lake under AME_LAKE_ROOT (.devstack/lake).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from lake.config import LakeConfig
from lake.enrich import BureauEnricher, TokenBucket
from lake.exports import current_exports
from lake.monitor import Monitor, write_report
from lake.pseudonym import lake_key
from lake.transform import CREDIT_TABLE, ORDERS_TABLE, RunResult, Transform

EXIT_QUALITY = 3


def endpoint(env: Mapping[str, str] = os.environ) -> str:
    return env.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{env.get('AME_AWS_PORT', '8100')}"


def dynamodb(env: Mapping[str, str] = os.environ) -> Any:
    import boto3

    return boto3.client(
        "dynamodb",
        region_name=env.get("AWS_REGION", "us-east-1"),
        endpoint_url=endpoint(env),
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "local"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "local"),
    )


def app_secret(env: Mapping[str, str] = os.environ) -> bytes:
    """The app secret: SSM (AWS) when a parameter is named, else AME_APP_SECRET, else the local stack's."""
    parameter = env.get("AME_APP_SECRET_PARAMETER")
    if parameter:
        import boto3

        ssm = boto3.client("ssm", region_name=env.get("AWS_REGION"))
        value: str = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
        return value.encode()
    if env.get("AME_APP_SECRET"):
        return env["AME_APP_SECRET"].encode()
    from devstack.stack import LOCAL_APP_SECRET

    return LOCAL_APP_SECRET.encode()


def bureau_enricher(config: LakeConfig, env: Mapping[str, str] = os.environ) -> BureauEnricher:
    from chalicelib.adapters.http_bureau import HttpCreditBureau
    from chalicelib.adapters.http_partners import HttpSettings, PartnerClient, new_pool
    from chalicelib.adapters.resilience import ResilienceSettings

    url = env.get("AME_BUREAU_URL") or f"http://127.0.0.1:{env.get('AME_PARTNERS_PORT', '8101')}"
    settings = HttpSettings(
        connect_timeout=0.5,
        read_timeout=2.0,
        max_in_flight=config.bureau_workers,
        resilience=ResilienceSettings(retries=0),
    )
    client = PartnerClient("bureau", url, new_pool(settings), settings)
    return BureauEnricher(
        HttpCreditBureau(client),
        cache_file=config.root / "cache" / "bureau-scores.json",
        batch=config.bureau_batch,
        workers=config.bureau_workers,
        bucket=TokenBucket(config.bureau_rate_per_second),
    )


def _day(text: str) -> date:
    return date.fromisoformat(text)


def cmd_traffic(args: argparse.Namespace) -> int:
    from lake.traffic import Traffic, TrafficShape, put_all

    start = args.start or (datetime.now(UTC).date() - timedelta(days=args.days))
    shape = TrafficShape(
        start=start,
        days=args.days,
        orders_per_day=args.orders_per_day,
        decisions_per_day=args.decisions_per_day,
        score_shift=args.shift,
        shift_from_day=args.shift_from_day,
        seed=args.seed,
    )
    traffic = Traffic(shape)
    client = dynamodb()
    orders = put_all(client, args.orders_table, traffic.orders())
    decisions = put_all(client, args.credit_table, traffic.decisions())
    last = start + timedelta(days=args.days - 1)
    print(f"lake-traffic: {orders} orders and {decisions} credit decisions over {start}..{last} -> {endpoint()}")
    return 0


def _print_run(result: RunResult) -> None:
    quarantined = result.rows.get("quarantine", 0)
    span = f"{result.days[0]}..{result.days[-1]}" if result.days else "(no days)"
    print(
        f"lake: run {result.run_id} days {span}: {result.rows.get('fact_envelope_order', 0)} orders,"
        f" {result.rows.get('fact_credit_decision', 0)} credit decisions curated, {quarantined} rows quarantined"
    )
    print(f"lake: manifest {result.manifest}")


def _transform(config: LakeConfig, start: date | None, end: date | None, enrich: bool) -> tuple[RunResult, list[str]]:
    raw = config.root / "raw"
    orders, credit = (
        current_exports(raw / ORDERS_TABLE, ORDERS_TABLE),
        current_exports(raw / CREDIT_TABLE, CREDIT_TABLE),
    )
    if not orders and not credit:
        raise SystemExit(f"lake: no exports under {raw}: run `make lake` (it extracts) first")
    enricher = bureau_enricher(config) if enrich else None
    result = Transform(config, lake_key(app_secret()), enricher).run(orders, credit, start, end)
    _print_run(result)
    notes = []
    if enricher is not None and enricher.breaker_open:
        notes.append("enrichment: the bureau was unavailable; decisions without a band stay UNKNOWN this run")
    return result, notes


def _report(config: LakeConfig, run_alerts: Sequence[str], reference: str | None, out: Path | None) -> int:
    window = None
    if reference:
        first, _, last = reference.partition(":")
        window = (first, last or first)
    monitored = Monitor(config).run(window)
    report = write_report(monitored, out or config.root / "report", run_alerts)
    for alert in (*run_alerts, *monitored.alerts):
        print(f"lake: ALERT {alert}")
    print(f"lake: report {report}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from lake.extract import LocalScanExtractor

    config = LakeConfig.from_env()
    if not args.no_extract:
        from botocore.exceptions import EndpointConnectionError

        extractor = LocalScanExtractor(dynamodb(), config.root / "raw")
        for table in (ORDERS_TABLE, CREDIT_TABLE):
            try:
                ref = extractor.export(table)
            except EndpointConnectionError:
                print(
                    f"lake: nothing answers at {endpoint()} (the local AWS endpoint): start make run first",
                    file=sys.stderr,
                )
                return 1
            print(f"lake: extracted {table}: export {ref.export_id}, {ref.item_count} items -> {ref.path}")
    result, notes = _transform(config, args.start, args.end, enrich=not args.no_enrich)
    _report(config, [*result.alerts, *notes], args.reference, args.report_dir)
    return EXIT_QUALITY if result.failed else 0


def cmd_backfill(args: argparse.Namespace) -> int:
    config = LakeConfig.from_env()
    if args.end < args.start:
        raise SystemExit("lake-backfill: TO is before FROM")
    result, notes = _transform(config, args.start, args.end, enrich=not args.no_enrich)
    _report(config, [*result.alerts, *notes], args.reference, args.report_dir)
    return EXIT_QUALITY if result.failed else 0


def cmd_report(args: argparse.Namespace) -> int:
    return _report(LakeConfig.from_env(), [], args.reference, args.report_dir)


def cmd_sql(args: argparse.Namespace) -> int:
    """Runs one query over the curated views (what Athena answers in AWS) and prints the result as a table."""
    import duckdb

    from lake.monitor import connect

    query = sys.stdin.read() if args.query == "-" else args.query
    if not query.strip():
        print("lake sql: no query given (an argument, or - and the query on standard input)", file=sys.stderr)
        return 2
    try:
        relation = connect(LakeConfig.from_env().root).sql(query)
    except duckdb.Error as exc:
        print(f"lake sql: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if relation is None:  # a statement that returns no rows (duckdb's stubs say it never is None)
        return 0  # type: ignore[unreachable]
    relation.show(max_rows=args.max_rows, max_width=200)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lake", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    traffic = commands.add_parser("traffic", help="generated orders and decisions into the local stack's tables")
    traffic.add_argument("--days", type=int, default=7)
    traffic.add_argument("--start", type=_day, help="first simulated day (default: DAYS days ago)")
    traffic.add_argument("--orders-per-day", type=int, default=200)
    traffic.add_argument("--decisions-per-day", type=int, default=400)
    traffic.add_argument("--shift", type=float, default=0.0, help="score shift from --shift-from-day on")
    traffic.add_argument("--shift-from-day", type=int, default=0)
    traffic.add_argument("--seed", type=int, default=14)
    traffic.add_argument("--orders-table", default=ORDERS_TABLE)
    traffic.add_argument("--credit-table", default=CREDIT_TABLE)
    traffic.set_defaults(func=cmd_traffic)

    for name, func, help_text in (
        ("run", cmd_run, "extract, transform, check, model and report"),
        ("backfill", cmd_backfill, "re-run the days FROM..TO from the current exports"),
        ("report", cmd_report, "the monitoring report over the curated layer"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--reference", help="reference window FROM:TO (default: the first days)")
        command.add_argument("--report-dir", type=Path)
        if name != "report":
            command.add_argument("--no-enrich", action="store_true", help="do not ask the bureau for missing bands")
        if name == "run":
            command.add_argument("--from", dest="start", type=_day)
            command.add_argument("--to", dest="end", type=_day)
            command.add_argument("--no-extract", action="store_true", help="use the exports already under raw/")
        if name == "backfill":
            command.add_argument("--from", dest="start", type=_day, required=True)
            command.add_argument("--to", dest="end", type=_day, required=True)
        command.set_defaults(func=func)

    sql = commands.add_parser("sql", help="one SQL query over the curated tables (DuckDB views), printed as a table")
    sql.add_argument("query", help="the query, or - to read it from standard input")
    sql.add_argument("--max-rows", type=int, default=200)
    sql.set_defaults(func=cmd_sql)

    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
