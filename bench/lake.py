"""make bench-lake: 1,000,000 credit decisions and 1,000,000 orders, export files -> curated Parquet.

Generates two DynamoDB exports (DYNAMODB_JSON, gzip, the items shaped as the app stores them:
PynamoDB's timestamps, the wire JSON in `data` / `request` / `parties`) with DuckDB, then times the
lake's transform over each (parse, normalize, pseudonymize, enrich from an in-memory bureau, check,
write processed and curated partitions, dimensions, quality, manifest), and the approval-rate query
over the result. Generation is not timed. Ends with `lake: 1000000 credit decisions in <seconds> s`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from chalicelib.credit.model import BureauScore
from chalicelib.credit.policy import default_policy
from chalicelib.credit.ports import CreditBureau
from chalicelib.documents import Cnpj, Cpf
from lake.config import LakeConfig
from lake.enrich import BureauEnricher, TokenBucket
from lake.exports import FULL, ExportRef, read_export
from lake.monitor import APPROVAL_BY_BAND_SQL, connect
from lake.pseudonym import lake_key
from lake.transform import CREDIT_TABLE, ORDERS_TABLE, Transform

START = date(2026, 10, 1)
DAYS = 30
FILES = 8
EXPORT_ID = "01790000000000-bench000"


class InstantBureau(CreditBureau):
    """Answers at once (the bench measures the transform, not a partner's latency)."""

    def score(self, cpf: str) -> BureauScore | None:
        return BureauScore(300 + int(cpf[:3]) % 600, START)


CREDIT_SQL = """
WITH g AS (
    SELECT i, 'dec_' || md5(i::VARCHAR) AS id,
        c.cpf,
        CASE WHEN i % 20 = 0 THEN NULL ELSE (400 + hash(i * 7) % 550)::INTEGER END AS score,
        ['PERSONAL_LOAN', 'PAYROLL_LOAN', 'VEHICLE_FINANCING'][1 + (i % 3)::INTEGER] AS product,
        (500 + hash(i * 3) % 90000)::DECIMAL(18,2) AS amount,
        (1500 + hash(i * 5) % 20000)::DECIMAL(18,2) AS income,
        @CREATED@ AS created
    FROM range(@LO@, @HI@) t(i) JOIN cpf_pool c ON c.n = hash(i) % 200000
), d AS (
    SELECT *, CASE WHEN score IS NULL THEN NULL WHEN score >= 800 THEN 'A' WHEN score >= 650 THEN 'B'
                   WHEN score >= 500 THEN 'C' WHEN score >= 300 THEN 'D' ELSE 'E' END AS band,
        CASE WHEN score IS NULL THEN 'REVIEW' WHEN amount > income * 8 THEN 'REFUSED'
             WHEN score < 500 THEN 'REVIEW' ELSE 'APPROVED' END AS outcome
    FROM g
)
SELECT {'pk': {'S': 'DECISION#' || id}, 'sk': {'S': 'DECISION'}, 'entity': {'S': 'DECISION'},
    'last_updated': {'S': created}, 'status': {'S': outcome}, 'created_at': {'S': created},
    'customer': {'S': 'CUSTOMER#' || cpf},
    'data': {'S': to_json({
        decision_id: id, cpf: cpf, outcome: outcome,
        approved_amount: CASE WHEN outcome = 'APPROVED' THEN amount::VARCHAR END,
        risk_band: band, score: score,
        reasons: CASE WHEN outcome = 'APPROVED' THEN []
            ELSE [{code: 'DEBT_TO_INCOME', message: 'Installments would exceed the income share the policy allows.',
                   outcome: outcome, rule_id: 'R05'}] END,
        policy: {id: '@POLICY_ID@', version: '@POLICY_VERSION@', hash: '@POLICY_HASH@'},
        figures: {score: score, monthly_income: income::VARCHAR, existing_debts: '0.00', amount: amount::VARCHAR,
                  term_months: 24, product: product, band: band, installment: (amount / 20)::DECIMAL(18,2)::VARCHAR,
                  debt_to_income: '0.25', score_age_days: 3},
        application: {amount: amount::VARCHAR, term_months: 24, product: product,
            monthly_income: income::VARCHAR, existing_debts: '0.00', score: score,
            score_as_of: '2026-10-01', score_source: CASE WHEN score IS NULL THEN 'UNAVAILABLE' ELSE 'BUREAU' END,
            decided_on: left(created, 10)},
        created_at: left(created, 26) || '+00:00'})::VARCHAR}} AS Item
FROM d
"""

ORDERS_SQL = """
WITH g AS (
    SELECT i, 'ord_' || md5(i::VARCHAR) AS id,
        ['AREA-CREDIT', 'AREA-CONSORTIUM', 'AREA-INSURANCE'][1 + (i % 3)::INTEGER] AS area,
        CASE WHEN i % 50 = 0 THEN 'FAILED' WHEN i % 9 = 0 THEN 'NO_QUORUM' ELSE 'QUORUM_MET' END AS status,
        k.cnpj AS company, a.cpf AS p1, b.cpf AS p2,
        @CREATED@ AS created
    FROM range(@LO@, @HI@) t(i)
    JOIN cnpj_pool k ON k.n = hash(i) % 20000
    JOIN cpf_pool a ON a.n = hash(i * 11) % 200000
    JOIN cpf_pool b ON b.n = hash(i * 13) % 200000
)
SELECT {'order_key': {'S': id}, 'status': {'S': status},
    'request': {'S': to_json({area_id: area, product: 'PERSONAL_LOAN', power_code: 'SIGN_CREDIT',
        platform: 'BANKLINE', signature_method: 'DIGITAL', amount: (1000 + i % 90000)::VARCHAR || '.00',
        requester: {type: 'PJ', document: company}, guarantors: []})::VARCHAR},
    'created_at': {'S': created}, 'updated_at': {'S': created},
    'decided_at': {'S': CASE WHEN status <> 'FAILED' THEN created END},
    'reason': {'S': CASE WHEN status = 'NO_QUORUM' THEN 'NO_RULE_SATISFIED'
                         WHEN status = 'FAILED' THEN 'PARTNER_UNAVAILABLE' END},
    'failure_detail': {'S': CASE WHEN status = 'FAILED' THEN 'partner service ''powers'' is unavailable: timeout' END},
    'result_published': {'BOOL': status <> 'FAILED'},
    'parties': {'S': CASE WHEN status <> 'FAILED' THEN to_json([{role: 'REQUESTER', type: 'PJ', document: company,
        quorum: status = 'QUORUM_MET', reason: CASE WHEN status = 'NO_QUORUM' THEN 'NO_RULE_SATISFIED' END,
        participants: [
            {cpf: p1, name: 'Pessoa ' || right(p1, 4), email: 'p' || right(p1, 4) || '@example.com.br',
             phone: '+55 11 9' || right(p1, 8), "group": 'ADMIN', groups: ['ADMIN'], enabled: true,
             reservation: NULL, disabled_reasons: []::VARCHAR[]},
            {cpf: p2, name: 'Pessoa ' || right(p2, 4), email: 'p' || right(p2, 4) || '@example.com.br',
             phone: '+55 11 9' || right(p2, 8), "group": 'ADMIN', groups: ['ADMIN'], enabled: true,
             reservation: NULL, disabled_reasons: []::VARCHAR[]}],
        satisfied_rules: ['R1'], signer_sets: [[p1, p2]], signer_sets_total: 1, signer_sets_total_exact: true,
        signers: [p1, p2]}])::VARCHAR END}} AS Item
FROM g
"""


def _documents(con: duckdb.DuckDBPyConnection, people: int, companies: int) -> None:
    cpfs = [Cpf.from_base(f"{500000000 + n:09d}").digits for n in range(people)]
    cnpjs = [Cnpj.from_base(f"{50000000 + n:08d}0001").digits for n in range(companies)]
    con.register("cpf_pool", pa.table({"n": range(people), "cpf": cpfs}))
    con.register("cnpj_pool", pa.table({"n": range(companies), "cnpj": cnpjs}))


def _write(con: duckdb.DuckDBPyConnection, root: Path, table: str, select: str, rows: int) -> ExportRef:
    folder = root / "raw" / table / "AWSDynamoDB" / EXPORT_ID
    (folder / "data").mkdir(parents=True)
    per_file = rows // FILES
    for number in range(FILES):
        lo, hi = number * per_file, rows if number == FILES - 1 else (number + 1) * per_file
        target = folder / "data" / f"bench-{number:02d}.json.gz"
        query = select.replace("@LO@", str(lo)).replace("@HI@", str(hi))
        con.execute(f"COPY ({query}) TO '{target}' (FORMAT json, COMPRESSION gzip)")
    summary = {"exportTime": datetime(2026, 11, 1, tzinfo=UTC).isoformat(), "exportType": FULL, "itemCount": rows}
    (folder / "manifest-summary.json").write_text(json.dumps(summary))
    return ExportRef(table, EXPORT_ID, folder, FULL, datetime(2026, 11, 1, tzinfo=UTC), rows)


def generate(root: Path, decisions: int, orders: int) -> tuple[ExportRef, ExportRef]:
    policy = default_policy()
    con = duckdb.connect()
    con.execute("SET threads = 2; SET TimeZone = 'UTC'")
    _documents(con, 200_000, 20_000)
    created = (
        f"strftime(TIMESTAMP '{START.isoformat()}' + to_microseconds(((i % {DAYS}) * 86400000000"
        " + hash(i) % 86400000000)::BIGINT), '%Y-%m-%dT%H:%M:%S.%f+0000')"
    )
    tokens = {
        "@CREATED@": created,
        "@POLICY_ID@": policy.policy_id,
        "@POLICY_VERSION@": policy.version,
        "@POLICY_HASH@": policy.hash,
    }
    credit, order_sql = CREDIT_SQL, ORDERS_SQL
    for token, value in tokens.items():
        credit, order_sql = credit.replace(token, value), order_sql.replace(token, value)
    credit_ref = _write(con, root, CREDIT_TABLE, credit, decisions)
    orders_ref = _write(con, root, ORDERS_TABLE, order_sql, orders)
    con.close()
    return orders_ref, credit_ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument(
        "--keep", type=Path, help="generate into (and keep) this folder, or reuse the exports it already holds"
    )
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-lake-"))
    try:
        started = time.perf_counter()
        kept = root / "raw" / CREDIT_TABLE / "AWSDynamoDB" / EXPORT_ID
        if args.keep is not None and kept.exists():  # a kept folder's exports are used again as they are
            orders_ref = read_export(root / "raw" / ORDERS_TABLE / "AWSDynamoDB" / EXPORT_ID, ORDERS_TABLE)
            credit_ref = read_export(kept, CREDIT_TABLE)
            verb = "reused"
        else:
            orders_ref, credit_ref = generate(root, args.decisions, args.orders)
            verb = "generated"
        size = sum(f.stat().st_size for ref in (orders_ref, credit_ref) for f in ref.data_files())
        print(
            f"bench-lake: {verb} {credit_ref.item_count} decisions and {orders_ref.item_count} orders as export files"
            f" ({size / 1e6:.0f} MB gzip) in {time.perf_counter() - started:.1f} s (not timed)"
        )
        config = LakeConfig(root=root)
        enricher = BureauEnricher(InstantBureau(), batch=500, workers=1, bucket=TokenBucket(1e9))
        step = Transform(config, lake_key(b"bench-only-secret-0123456789abcdef0123"), enricher, version="bench")

        started = time.perf_counter()
        orders_run = step.run([orders_ref], [])
        orders_s = time.perf_counter() - started
        print(
            f"bench-lake: orders: {orders_run.rows['fact_envelope_order']} curated in {orders_s:.2f} s"
            f" ({orders_run.rows['fact_envelope_order'] / orders_s:,.0f} rows/s)"
        )
        started = time.perf_counter()
        credit_run = step.run([], [credit_ref])
        credit_s = time.perf_counter() - started
        curated = credit_run.rows["fact_credit_decision"]
        print(
            f"bench-lake: credit decisions: {curated} curated in {credit_s:.2f} s ({curated / credit_s:,.0f} rows/s;"
            f" {credit_run.rows['quarantine']} quarantined; {enricher.calls} bureau calls for missing bands)"
        )
        con = connect(root)
        started = time.perf_counter()
        answer = con.execute(APPROVAL_BY_BAND_SQL).fetchall()
        query_ms = (time.perf_counter() - started) * 1000
        print(f"bench-lake: approval rate by band per day: {len(answer)} rows in {query_ms:.0f} ms")
        print(f"lake: {credit_ref.item_count} credit decisions in {credit_s:.2f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
