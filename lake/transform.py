"""Export files -> processed/ -> curated/, with quality, quarantine and a manifest: one run.

DuckDB does the work (README, Data lake, why): it reads the gzip JSON-lines export in parallel, parses
the JSON strings PynamoDB stores (`request`, `parties`, a decision's `data`) with `from_json` into
typed structs, casts, checks every rule in one pass, flattens lists with `unnest`, and hands Arrow
tables to pyarrow, which writes the Parquet files with fixed options. Python touches only the
distinct documents (HMAC and check digits) and the distinct customers to enrich.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from chalicelib.errors import PARTNER_FAILURE_CODES
from lake import schema as s
from lake.config import LakeConfig
from lake.enrich import BureauEnricher, band_of
from lake.exports import ExportRef
from lake.layout import Written, partition_dir, sha256_file, write_partition
from lake.pseudonym import pseudonym_table
from lake.rules import RULES, first_failure

_PARTNER_FAILURES = ", ".join(f"'{code}'" for code in PARTNER_FAILURE_CODES)
"""The order reasons whose failure detail names a partner, as an SQL list."""

ORDERS_TABLE = "ame-orders"
CREDIT_TABLE = "ame-credit"

_S = "STRUCT(S VARCHAR)"
_ORDER_ITEM = (
    f"STRUCT(order_key {_S}, status {_S}, request {_S}, created_at {_S}, updated_at {_S}, parties {_S}, "
    f"parties_claim_check {_S}, reason {_S}, failure_detail {_S}, decided_at {_S}, "
    "result_published STRUCT(BOOL BOOLEAN))"
)
_CREDIT_ITEM = f"STRUCT(pk {_S}, sk {_S}, entity {_S}, data {_S})"
_REQUEST = (
    '{"area_id":"VARCHAR","product":"VARCHAR","power_code":"VARCHAR","platform":"VARCHAR",'
    '"signature_method":"VARCHAR","amount":"VARCHAR","requester":{"type":"VARCHAR","document":"VARCHAR"},'
    '"guarantors":[{"type":"VARCHAR","document":"VARCHAR"}]}'
)
_PARTIES = (
    '[{"role":"VARCHAR","type":"VARCHAR","document":"VARCHAR","quorum":"BOOLEAN","reason":"VARCHAR",'
    '"participants":[{"enabled":"BOOLEAN"}],"signers":["VARCHAR"],"signer_sets_total":"BIGINT"}]'
)
_DECISION = (
    '{"decision_id":"VARCHAR","cpf":"VARCHAR","outcome":"VARCHAR","approved_amount":"VARCHAR",'
    '"risk_band":"VARCHAR","score":"VARCHAR","reasons":[{"code":"VARCHAR","outcome":"VARCHAR","rule_id":"VARCHAR"}],'
    '"policy":{"id":"VARCHAR","version":"VARCHAR","hash":"VARCHAR"},'
    '"application":{"amount":"VARCHAR","term_months":"VARCHAR","product":"VARCHAR","monthly_income":"VARCHAR",'
    '"existing_debts":"VARCHAR","score_source":"VARCHAR","decided_on":"VARCHAR"},"created_at":"VARCHAR"}'
)
_PRODUCT_NAMES = {
    "PERSONAL_LOAN": "Personal loan",
    "PAYROLL_LOAN": "Payroll-deductible loan",
    "VEHICLE_FINANCING": "Vehicle financing",
}
_STATUS = {
    "PROCESSING": ("Processing", False, False),
    "QUORUM_MET": ("Quorum met", True, False),
    "NO_QUORUM": ("No quorum", True, True),
    "FAILED": ("Failed", False, True),
}


def _ts(raw: str) -> str:
    """PynamoDB's UTCDateTimeAttribute text (…%f+0000) or ISO-8601, as a UTC timestamp; NULL if neither."""
    return f"coalesce(try_strptime({raw}, '%Y-%m-%dT%H:%M:%S.%f%z'), try_cast({raw} AS TIMESTAMPTZ))"


def _money(raw: str) -> str:
    return f"try_cast({raw} AS DECIMAL(18,2))"


def code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],  # noqa: S607 (git from PATH, as make does)
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "ame-platform 0.1.0"


@dataclass
class RunResult:
    run_id: str
    days: list[str]
    outputs: list[Written] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    manifest: Path | None = None
    rows: dict[str, int] = field(default_factory=dict)
    null_rates: list[tuple[str, str, str, float]] = field(default_factory=list)
    """(day, processed table, column, share of NULLs) of what was written."""

    @property
    def failed(self) -> bool:
        return bool(self.alerts)


@dataclass
class Transform:
    config: LakeConfig
    key: bytes
    """The pseudonym key (lake.pseudonym.lake_key)."""
    enricher: BureauEnricher | None = None
    threads: int = 2
    version: str = field(default_factory=code_version)

    def run(
        self,
        orders: Sequence[ExportRef],
        credit: Sequence[ExportRef],
        start: date | None = None,
        end: date | None = None,
    ) -> RunResult:
        """Transforms the exports' days in [start, end] (every day they hold when not given)."""
        con = duckdb.connect()
        con.execute(f"SET threads = {self.threads}; SET TimeZone = 'UTC'; SET preserve_insertion_order = true")
        self._reference_dimensions(con)
        self._stage_orders(con, orders)
        self._stage_credit(con, credit)
        self._pseudonymize(con)
        self._check(con, "orders", "order_key", "requester_document", "requester_hash", "requester_valid")
        self._check(con, "credit_decisions", "decision_id", "cpf", "customer_hash", "cpf_valid")
        days = self._days(con, start, end)
        con.execute("CREATE TABLE run_days AS SELECT unnest(?::VARCHAR[]) AS dt", [days])
        self._scope(con)
        self._enrich(con)
        inputs = [*self._inputs(orders), *self._inputs(credit)]
        run_id = _digest({"inputs": [i["sha256"] for i in inputs], "days": days, "version": self.version})[:16]
        result = RunResult(run_id, days)
        self._processed(con, result)
        self._curated_facts(con, result)
        self._quarantine(con, result)
        self._dimensions(con, result)
        self._quality(con, result)
        result.manifest = self._manifest(con, result, orders, credit, inputs)
        con.close()
        return result

    # ---- staging ---------------------------------------------------------------------------------------------

    def _read(self, con: duckdb.DuckDBPyConnection, name: str, exports: Sequence[ExportRef], item: str) -> None:
        files = [(str(f), n) for n, e in enumerate(exports) for f in e.data_files()]
        con.execute(
            "CREATE TABLE files_"
            + name
            + " AS SELECT * FROM (VALUES "
            + (", ".join(["(?, ?)"] * len(files)) or "(NULL, NULL)")
            + ") t(filename, ordinal)",
            [v for pair in files for v in pair],
        )
        if not files:
            con.execute(f"CREATE VIEW raw_{name} AS SELECT NULL::{item} AS i, 0 AS ordinal WHERE false")
            return
        columns = "{'Item': '" + item + "', 'NewImage': '" + item + "'}"
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f, _ in files)
        ordinal = "f.ordinal" if len(exports) > 1 else "0"
        join = f"JOIN files_{name} f ON f.filename = r.filename" if len(exports) > 1 else ""
        con.execute(
            f"""CREATE VIEW raw_{name} AS
            SELECT coalesce(r.Item, r.NewImage) AS i, {ordinal} AS ordinal
            FROM read_json([{listed}], format = 'newline_delimited', compression = 'gzip', columns = {columns},
                           filename = true) r
            {join}
            WHERE coalesce(r.Item, r.NewImage) IS NOT NULL"""
        )

    @staticmethod
    def _latest(source: str, key: str, exports: Sequence[ExportRef], where: str = "true") -> str:
        """The newest version of each item across the exports (a full one and its increments)."""
        if len(exports) <= 1:
            return f"SELECT * FROM {source} WHERE {where}"
        return f"SELECT * FROM {source} WHERE {where} QUALIFY ordinal = max(ordinal) OVER (PARTITION BY {key})"

    def _stage_orders(self, con: duckdb.DuckDBPyConnection, exports: Sequence[ExportRef]) -> None:
        self._read(con, "orders", exports, _ORDER_ITEM)
        _parse(
            con,
            "staged_orders",
            f"""CREATE TABLE staged_orders AS
            WITH latest AS ({self._latest("raw_orders", "i.order_key.S", exports)}), parsed AS (
                SELECT
                    i.order_key.S AS order_key,
                    i.status.S AS status,
                    i.created_at.S AS created_at_raw,
                    {_ts("i.created_at.S")} AS created_at,
                    coalesce({_ts("i.updated_at.S")}, {_ts("i.created_at.S")}) AS updated_at,
                    i.decided_at.S AS decided_at_raw,
                    {_ts("i.decided_at.S")} AS decided_at,
                    i.reason.S AS reason,
                    CASE WHEN i.reason.S IN ({_PARTNER_FAILURES})
                         THEN nullif(regexp_extract(i.failure_detail.S, '''([a-z_]+)''', 1), '') END AS failure_partner,
                    coalesce(i.result_published.BOOL, false) AS result_published,
                    i.parties_claim_check.S IS NOT NULL AS parties_claim_checked,
                    length(i.request.S) AS request_len,
                    @TRY(from_json(i.request.S, '{_REQUEST}')) AS request,
                    length(i.parties.S) AS parties_len,
                    @TRY(from_json(i.parties.S, '{_PARTIES}')) AS parties,
                    hash(i.request.S, i.parties.S, i.status.S) AS dup_hash
                FROM latest
            )
            SELECT * EXCLUDE (request), CASE WHEN request IS NOT NULL THEN true END AS request,
                request.area_id AS area_id, request.product AS product, request.power_code AS power_code,
                request.platform AS platform, request.signature_method AS signature_method,
                request.amount AS amount_raw, {_money("request.amount")} AS amount,
                request.requester.type AS requester_type, request.requester.document AS requester_document,
                coalesce(len(request.guarantors), 0)::SMALLINT AS guarantors_count,
                strftime(created_at, '%Y-%m-%d') AS dt
            FROM parsed""",
        )

    def _stage_credit(self, con: duckdb.DuckDBPyConnection, exports: Sequence[ExportRef]) -> None:
        self._read(con, "credit", exports, _CREDIT_ITEM)
        _parse(
            con,
            "staged_credit_decisions",
            f"""CREATE TABLE staged_credit_decisions AS
            WITH latest AS ({self._latest("raw_credit", "i.pk.S, i.sk.S", exports, "i.entity.S = 'DECISION'")}),
            parsed AS (
                SELECT i.pk.S AS pk, length(i.data.S) AS data_len, @TRY(from_json(i.data.S, '{_DECISION}')) AS d,
                    hash(i.data.S) AS dup_hash
                FROM latest
            ), timed AS (SELECT *, {_ts("d.created_at")} AS created_at FROM parsed)
            SELECT
                coalesce(d.decision_id, nullif(replace(pk, 'DECISION#', ''), '')) AS decision_id,
                data_len, CASE WHEN d IS NOT NULL THEN true END AS data, dup_hash,
                d.cpf AS cpf, d.outcome AS outcome,
                d.approved_amount AS approved_amount_raw,
                {_money("d.approved_amount")} AS approved_amount,
                d.application.amount AS requested_amount_raw,
                {_money("d.application.amount")} AS requested_amount,
                d.application.term_months AS term_months_raw,
                try_cast(d.application.term_months AS SMALLINT) AS term_months,
                d.application.product AS product,
                d.application.monthly_income AS monthly_income_raw,
                {_money("d.application.monthly_income")} AS monthly_income,
                d.application.existing_debts AS existing_debts_raw,
                {_money("d.application.existing_debts")} AS existing_debts,
                d.score AS score_raw, try_cast(d.score AS SMALLINT) AS score,
                coalesce(d.application.score_source, 'NONE') AS score_source,
                d.risk_band AS risk_band,
                d.policy.id AS policy_id, d.policy.version AS policy_version, d.policy.hash AS policy_hash,
                coalesce(len(d.reasons), 0)::SMALLINT AS reasons_count,
                d.reasons AS reasons,
                d.application.decided_on AS decided_on_raw, try_cast(d.application.decided_on AS DATE) AS decided_on,
                d.created_at AS created_at_raw, created_at, strftime(created_at, '%Y-%m-%d') AS dt
            FROM timed""",
        )

    def _pseudonymize(self, con: duckdb.DuckDBPyConnection) -> None:
        documents = con.execute(
            """SELECT DISTINCT requester_document FROM staged_orders WHERE requester_document IS NOT NULL
            UNION SELECT DISTINCT p.document FROM (SELECT unnest(parties) AS p FROM staged_orders)
                WHERE p.document IS NOT NULL
            UNION SELECT DISTINCT cpf FROM staged_credit_decisions WHERE cpf IS NOT NULL"""
        ).fetchall()
        pseudonyms = pseudonym_table(self.key, (d for (d,) in documents))  # noqa: F841 (DuckDB reads it by name)
        con.execute("CREATE TABLE pseudonyms AS SELECT * FROM pseudonyms")

    def _reference_dimensions(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "CREATE TABLE ref_dim_product AS SELECT unnest(?::VARCHAR[]) AS product", [list(self.config.products)]
        )
        bands = [b for b, _ in self.config.bands]
        con.execute("CREATE TABLE ref_dim_risk_band AS SELECT unnest(?::VARCHAR[]) AS risk_band", [bands])
        con.execute("CREATE TABLE ref_dim_status AS SELECT unnest(?::VARCHAR[]) AS status", [list(_STATUS)])

    def _check(
        self, con: duckdb.DuckDBPyConnection, dataset: str, key: str, document: str, alias: str, valid: str
    ) -> None:
        """Joins each row's pseudonym and check-digit verdict and names the first rule it fails (one pass).

        Rows sharing a key are ranked (the newest `updated_at` first, then by content) in a side table of only
        those rows, so the usual run, with no duplicates, sorts nothing."""
        staged = f"staged_{dataset}"
        newest = "updated_at DESC NULLS LAST, " if dataset == "orders" else ""
        con.execute(
            f"""CREATE TABLE dup_ranks_{dataset} AS
            SELECT rowid AS rid, row_number() OVER (PARTITION BY {key} ORDER BY {newest}dup_hash, rowid) AS dup_rank
            FROM {staged} WHERE {key} IN (SELECT {key} FROM {staged} GROUP BY {key} HAVING count(*) > 1)"""
        )
        con.execute(
            f"""CREATE TABLE checked_all_{dataset} AS
            SELECT *, {first_failure(RULES[dataset])} AS failed_rule
            FROM (SELECT t.*, p.hash AS {alias}, coalesce(p.valid, false) AS {valid},
                    coalesce(d.dup_rank, 1) AS dup_rank
                  FROM {staged} t LEFT JOIN pseudonyms p ON p.document = t.{document}
                  LEFT JOIN dup_ranks_{dataset} d ON d.rid = t.rowid)"""
        )
        con.execute(f"DROP TABLE staged_{dataset}")

    def _days(self, con: duckdb.DuckDBPyConnection, start: date | None, end: date | None) -> list[str]:
        if start is not None and end is not None:
            return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
        rows = con.execute(
            "SELECT DISTINCT dt FROM (SELECT dt FROM checked_all_orders"
            " UNION ALL SELECT dt FROM checked_all_credit_decisions) WHERE dt IS NOT NULL ORDER BY dt"
        ).fetchall()
        days = [d for (d,) in rows]
        return [d for d in days if (start is None or d >= start.isoformat()) and (end is None or d <= end.isoformat())]

    # ---- enrichment ------------------------------------------------------------------------------------------

    def _enrich(self, con: duckdb.DuckDBPyConnection) -> None:
        wanted = con.execute(
            """SELECT DISTINCT customer_hash, cpf FROM checked_credit_decisions
            WHERE failed_rule IS NULL AND risk_band IS NULL AND dt IN (SELECT dt FROM run_days)
            ORDER BY customer_hash"""
        ).fetchall()
        hashes: list[str] = []
        bands: list[str | None] = []
        sources: list[str] = []
        if wanted and self.enricher is not None:
            found = self.enricher.scores([(h, c) for h, c in wanted])
            for alias, lookup in sorted(found.items()):
                band = band_of(lookup.score, self.config.bands)
                hashes.append(alias)
                bands.append(band)
                sources.append(lookup.source if band is not None else "UNAVAILABLE")
        enriched_rows = pa.table(  # noqa: F841 (DuckDB reads it by name)
            {
                "customer_hash": pa.array(hashes, pa.string()),
                "bureau_band": pa.array(bands, pa.string()),
                "bureau_source": pa.array(sources, pa.string()),
            }
        )
        con.execute("CREATE TABLE enriched AS SELECT * FROM enriched_rows")
        con.execute(
            """CREATE TABLE clean_credit AS
            SELECT c.decision_id, c.customer_hash, c.outcome, c.approved_amount, c.requested_amount, c.term_months,
                c.product, c.monthly_income, c.existing_debts, c.score, c.score_source, c.policy_id, c.policy_version,
                c.policy_hash, c.reasons_count, c.reasons, c.decided_on, c.created_at, c.dt,
                coalesce(c.risk_band, e.bureau_band) AS band,
                CASE WHEN c.risk_band IS NOT NULL THEN 'DECISION'
                     WHEN e.bureau_band IS NOT NULL THEN 'BUREAU' ELSE 'UNAVAILABLE' END AS band_source
            FROM checked_credit_decisions c LEFT JOIN enriched e USING (customer_hash)
            WHERE c.failed_rule IS NULL AND c.dt IN (SELECT dt FROM run_days)"""
        )
        con.execute(
            """CREATE TABLE clean_orders AS
            SELECT order_key, status, area_id, product, power_code, platform, signature_method, amount, requester_type,
                requester_hash, guarantors_count, reason, failure_partner, parties, parties_claim_checked, created_at,
                updated_at, decided_at, result_published, dt
            FROM checked_orders WHERE failed_rule IS NULL AND dt IN (SELECT dt FROM run_days)"""
        )

    # ---- outputs ---------------------------------------------------------------------------------------------

    def _write(self, con: duckdb.DuckDBPyConnection, result: RunResult, table: s.Table, sql: str) -> None:
        """`sql` selects the table's columns and `dt`; each run day's partition is replaced (empty: removed)."""
        order = ", ".join(table.key)
        data = con.sql(f"SELECT * FROM ({sql}) ORDER BY dt, {order}").to_arrow_table()
        result.rows[table.name] = data.num_rows
        days = data.column("dt")
        for day in result.days:
            part = data.filter(pc.equal(days, day))
            result.outputs += write_partition(self.config.root, table, day, part)
            if table.layer == "processed" and part.num_rows:
                for f in table.schema:
                    if f.nullable:
                        rate = part.column(f.name).null_count / part.num_rows
                        result.null_rates.append((day, table.name, f.name, rate))

    def _processed(self, con: duckdb.DuckDBPyConnection, result: RunResult) -> None:
        self._write(
            con,
            result,
            s.PROCESSED_ORDERS,
            """SELECT order_key, status, area_id, product, power_code, platform, signature_method, amount,
                requester_type, requester_hash, guarantors_count,
                CASE WHEN status = 'QUORUM_MET' THEN true WHEN status = 'NO_QUORUM' THEN false END AS quorum,
                reason, failure_partner,
                coalesce(list_sum(list_transform(parties, lambda p: len(p.participants))), 0)::INTEGER
                    AS participants_count,
                parties_claim_checked, created_at, updated_at, decided_at, result_published, dt
            FROM clean_orders""",
        )
        self._write(
            con,
            result,
            s.PROCESSED_ORDER_PARTIES,
            """SELECT o.order_key, (n - 1)::SMALLINT AS party_seq, p.role, p.type AS party_type,
                ps.hash AS document_hash, coalesce(p.quorum, false) AS quorum, p.reason,
                coalesce(len(p.participants), 0)::INTEGER AS participants_count,
                coalesce(len(list_filter(p.participants, lambda x: x.enabled)), 0)::INTEGER AS enabled_participants,
                coalesce(len(p.signers), 0)::INTEGER AS signers_count,
                coalesce(p.signer_sets_total, 0) AS signer_sets_total, o.dt
            FROM (SELECT order_key, dt, parties[n] AS p, n
                  FROM (SELECT order_key, dt, parties, generate_subscripts(parties, 1) AS n FROM clean_orders)) o
            LEFT JOIN pseudonyms ps ON ps.document = o.p.document""",
        )
        self._write(
            con,
            result,
            s.PROCESSED_CREDIT_DECISIONS,
            """SELECT decision_id, customer_hash, outcome, approved_amount, requested_amount, term_months, product,
                monthly_income, existing_debts, score, score_source, band AS risk_band, band_source AS risk_band_source,
                policy_id, policy_version, policy_hash, reasons_count, decided_on, created_at, dt
            FROM clean_credit""",
        )
        self._write(
            con,
            result,
            s.PROCESSED_CREDIT_REASONS,
            """SELECT decision_id, (n - 1)::SMALLINT AS reason_seq, r.code, r.outcome, r.rule_id, dt
            FROM (SELECT decision_id, dt, reasons[n] AS r, n
                  FROM (SELECT decision_id, dt, reasons, generate_subscripts(reasons, 1) AS n FROM clean_credit))""",
        )

    def _curated_facts(self, con: duckdb.DuckDBPyConnection, result: RunResult) -> None:
        date_key = "(year(created_at) * 10000 + month(created_at) * 100 + day(created_at))::INTEGER"
        self._write(
            con,
            result,
            s.FACT_ENVELOPE_ORDER,
            f"""SELECT order_key, {date_key} AS date_key, area_id, platform, signature_method, status, product,
                requester_type, requester_hash, guarantors_count,
                coalesce(list_sum(list_transform(parties, lambda p: len(p.participants))), 0)::INTEGER
                    AS participants_count,
                status = 'QUORUM_MET' AS quorum_complete,
                CASE WHEN status IN ('NO_QUORUM', 'FAILED') THEN coalesce(reason, status) END AS failure_reason,
                failure_partner, amount, created_at, decided_at,
                CASE WHEN decided_at IS NOT NULL THEN (epoch_us(decided_at) - epoch_us(created_at)) / 1e6 END
                    AS decision_seconds,
                dt
            FROM clean_orders""",
        )
        self._write(
            con,
            result,
            s.FACT_CREDIT_DECISION,
            f"""SELECT decision_id, {date_key} AS date_key, customer_hash, product,
                coalesce(band, 'UNKNOWN') AS risk_band, band_source AS risk_band_source,
                policy_id || '@' || policy_version || '#' || left(policy_hash, 12) AS policy_key,
                outcome, outcome = 'APPROVED' AS approved, score, score_source, requested_amount, approved_amount,
                term_months, monthly_income, reasons[1].code AS first_reason_code, reasons_count, created_at, dt
            FROM clean_credit""",
        )

    def _quarantine(self, con: duckdb.DuckDBPyConnection, result: RunResult) -> None:
        self._write(
            con,
            result,
            s.QUARANTINE,
            """SELECT 'orders' AS dataset, failed_rule AS rule, order_key AS row_key, r.detail,
                to_json({order_key: order_key, status: status, area_id: area_id, platform: platform,
                    signature_method: signature_method, amount: amount_raw, requester_type: requester_type,
                    requester_hash: requester_hash, created_at: created_at_raw, reason: reason})::VARCHAR AS record,
                coalesce(dt, (SELECT min(dt) FROM run_days)) AS dt
            FROM checked_orders JOIN rule_details r ON r.rule = failed_rule
            WHERE failed_rule IS NOT NULL
            UNION ALL
            SELECT 'credit_decisions', failed_rule, decision_id, r.detail,
                to_json({decision_id: decision_id, customer_hash: customer_hash, outcome: outcome,
                    requested_amount: requested_amount_raw, approved_amount: approved_amount_raw,
                    term_months: term_months_raw, product: product, score: score_raw, score_source: score_source,
                    risk_band: risk_band, policy_hash: policy_hash, created_at: created_at_raw})::VARCHAR,
                coalesce(dt, (SELECT min(dt) FROM run_days))
            FROM checked_credit_decisions JOIN rule_details r ON r.rule = failed_rule
            WHERE failed_rule IS NOT NULL""",
        )

    def _scope(self, con: duckdb.DuckDBPyConnection) -> None:
        """Keeps the rows of the run's days (a row whose day is unreadable counts on the run's first day)."""
        rules = [(r.name, r.detail) for rules in RULES.values() for r in rules]
        con.execute(
            "CREATE TABLE rule_details AS SELECT * FROM (VALUES "
            + ", ".join(["(?, ?)"] * len(rules))
            + ") t(rule, detail)",
            [v for pair in rules for v in pair],
        )
        for dataset in ("orders", "credit_decisions"):
            con.execute(
                f"CREATE VIEW checked_{dataset} AS SELECT * FROM checked_all_{dataset}"
                " WHERE coalesce(dt, (SELECT min(dt) FROM run_days)) IN (SELECT dt FROM run_days)"
            )

    def _dimensions(self, con: duckdb.DuckDBPyConnection, result: RunResult) -> None:
        """Rebuilt whole from every curated fact partition (not only this run's days) and the configuration."""
        root = self.config.root
        for view, fact in (
            ("all_orders", s.FACT_ENVELOPE_ORDER),
            ("all_credit", s.FACT_CREDIT_DECISION),
            ("all_processed_credit", s.PROCESSED_CREDIT_DECISIONS),
        ):
            files = _glob(root, fact)
            if files:
                listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
                con.execute(
                    f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM read_parquet([{listed}],"
                    " hive_partitioning = true, hive_types = {'dt': VARCHAR})"
                )
            else:
                empty = fact.schema.append(pa.field(s.DT, pa.string())).empty_table()
                con.register(view, empty)
        del result  # dimensions are written below; their files go to the manifest too
        self._dims_written = [
            *self._dim(con, s.DIM_AREA, "SELECT DISTINCT area_id, area_id AS area_name FROM all_orders"),
            *self._dim(con, s.DIM_PLATFORM, "SELECT DISTINCT platform, platform AS platform_name FROM all_orders"),
            *self._dim(
                con,
                s.DIM_SIGNATURE_METHOD,
                "SELECT DISTINCT signature_method, signature_method AS signature_method_name FROM all_orders",
            ),
            *self._dim(
                con,
                s.DIM_STATUS,
                "SELECT * FROM (VALUES "
                + ", ".join(f"('{k}', '{n}', {str(d).lower()}, {str(f).lower()})" for k, (n, d, f) in _STATUS.items())
                + ") t(status, status_name, is_decided, is_failure)",
            ),
            *self._dim(
                con,
                s.DIM_DATE,
                """SELECT (year(d) * 10000 + month(d) * 100 + day(d))::INTEGER AS date_key, d::DATE AS date,
                    year(d)::SMALLINT AS year, month(d)::TINYINT AS month, day(d)::TINYINT AS day,
                    weekofyear(d)::TINYINT AS iso_week, isodow(d)::TINYINT AS weekday, isodow(d) >= 6 AS is_weekend
                FROM (SELECT unnest(generate_series(min(dt)::DATE, max(dt)::DATE, INTERVAL 1 DAY)) AS d
                      FROM (SELECT dt FROM all_orders UNION ALL SELECT dt FROM all_credit) WHERE dt IS NOT NULL)
                WHERE d IS NOT NULL""",
            ),
            *self._dim(
                con,
                s.DIM_POLICY_VERSION,
                """SELECT policy_key, split_part(policy_key, '@', 1) AS policy_id,
                    split_part(split_part(policy_key, '@', 2), '#', 1) AS policy_version,
                    any_value(h.policy_hash) AS policy_hash, min(created_at) AS first_seen, max(created_at) AS last_seen
                FROM all_credit c LEFT JOIN (SELECT DISTINCT policy_id || '@' || policy_version || '#'
                    || left(policy_hash, 12) AS k, policy_hash FROM all_processed_credit) h ON h.k = c.policy_key
                GROUP BY policy_key""",
            ),
            *self._dim(
                con,
                s.DIM_RISK_BAND,
                "SELECT * FROM (VALUES "
                + ", ".join(
                    f"('{band}', {floor}, {ceiling}, {order})"
                    for order, (band, floor, ceiling) in enumerate(_band_ranges(self.config.bands), start=1)
                )
                + f", ('UNKNOWN', NULL, NULL, {len(self.config.bands) + 1}))"
                " t(risk_band, min_score, max_score, band_order)",
            ),
            *self._dim(
                con,
                s.DIM_PRODUCT,
                "SELECT * FROM (VALUES "
                + ", ".join(f"('{p}', '{_PRODUCT_NAMES.get(p, p)}')" for p in self.config.products)
                + ") t(product, product_name)",
            ),
        ]

    def _dim(self, con: duckdb.DuckDBPyConnection, table: s.Table, sql: str) -> list[Written]:
        order = ", ".join(table.key)
        data = con.sql(f"SELECT * FROM ({sql}) WHERE {table.key[0]} IS NOT NULL ORDER BY {order}").to_arrow_table()
        return write_partition(self.config.root, table, None, data)

    def _quality(self, con: duckdb.DuckDBPyConnection, result: RunResult) -> None:
        """Per day and dataset: rows read, written, quarantined (all and per rule), null rates of the output."""
        con.execute(
            """CREATE TABLE quality AS
            WITH scoped AS (
                SELECT 'orders' AS dataset, coalesce(dt, (SELECT min(dt) FROM run_days)) AS dt, failed_rule
                FROM checked_orders
                UNION ALL
                SELECT 'credit_decisions', coalesce(dt, (SELECT min(dt) FROM run_days)), failed_rule
                FROM checked_credit_decisions
            ), scoped_days AS (SELECT * FROM scoped WHERE dt IN (SELECT dt FROM run_days))
            SELECT dt, dataset, 'rows_read' AS metric, NULL::VARCHAR AS rule, NULL::VARCHAR AS column_name,
                count(*)::DOUBLE AS value
                FROM scoped_days GROUP BY ALL
            UNION ALL
            SELECT dt, dataset, 'rows_written', NULL, NULL, count(*) FILTER (WHERE failed_rule IS NULL)
                FROM scoped_days GROUP BY ALL
            UNION ALL
            SELECT dt, dataset, 'rows_quarantined', NULL, NULL, count(*) FILTER (WHERE failed_rule IS NOT NULL)
                FROM scoped_days GROUP BY ALL
            UNION ALL
            SELECT dt, dataset, 'quarantine_rate', NULL, NULL, avg((failed_rule IS NOT NULL)::INTEGER)
                FROM scoped_days GROUP BY ALL
            UNION ALL
            SELECT dt, dataset, 'rows_quarantined', failed_rule, NULL, count(*)
                FROM scoped_days WHERE failed_rule IS NOT NULL GROUP BY ALL"""
        )
        rates = pa.table(  # noqa: F841 (DuckDB reads it by name)
            {
                "dt": [r[0] for r in result.null_rates],
                "dataset": [r[1] for r in result.null_rates],
                "column_name": [r[2] for r in result.null_rates],
                "value": pa.array([r[3] for r in result.null_rates], pa.float64()),
            }
        )
        con.execute("INSERT INTO quality SELECT dt, dataset, 'null_rate', NULL, column_name, value FROM rates")
        data = con.sql(
            f"SELECT '{result.run_id}' AS run_id, dataset, metric, rule, column_name, value, dt FROM quality"
            " ORDER BY dt, dataset, metric, rule NULLS FIRST, column_name NULLS FIRST"
        ).to_arrow_table()
        for day in result.days:
            result.outputs += write_partition(
                self.config.root, s.QUALITY_METRICS, day, data.filter(pc.equal(data.column("dt"), day))
            )
        result.metrics = data.to_pylist()
        for row in result.metrics:
            if row["metric"] == "quarantine_rate" and row["value"] > self.config.max_quarantine_rate:
                result.alerts.append(
                    f"quality: {row['dataset']} on {row['dt']}: {row['value']:.2%} of rows quarantined"
                    f" (threshold {self.config.max_quarantine_rate:.2%})"
                )

    def _inputs(self, exports: Sequence[ExportRef]) -> list[dict[str, Any]]:
        return [
            {
                "export": e.export_id,
                "table": e.table,
                "path": str(f),
                "sha256": sha256_file(f),
                "bytes": f.stat().st_size,
            }
            for e in exports
            for f in e.data_files()
        ]

    def _manifest(
        self,
        con: duckdb.DuckDBPyConnection,
        result: RunResult,
        orders: Sequence[ExportRef],
        credit: Sequence[ExportRef],
        inputs: list[dict[str, Any]],
    ) -> Path:
        root = self.config.root
        policies = con.execute(
            "SELECT DISTINCT policy_id, policy_version, policy_hash FROM clean_credit ORDER BY ALL"
        ).fetchall()
        outputs = [*result.outputs, *self._dims_written]
        manifest = {
            "run_id": result.run_id,
            "code_version": self.version,
            "source": [
                {
                    "table": e.table,
                    "export_id": e.export_id,
                    "export_type": e.export_type,
                    "export_time": e.export_time.isoformat(),
                    "item_count": e.item_count,
                }
                for e in (*orders, *credit)
            ],
            "days": result.days,
            "inputs": [{**i, "path": _relative(Path(i["path"]), root)} for i in inputs],
            "outputs": [
                {"path": _relative(w.path, root), "sha256": w.sha256, "bytes": w.bytes, "rows": w.rows} for w in outputs
            ],
            "policy_hashes": [{"policy_id": p, "version": v, "hash": h} for p, v, h in policies],
            "quality": {"alerts": result.alerts, "rows": result.rows},
        }
        path = root / "manifests" / f"run={result.run_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)
        return path


def _parse(con: duckdb.DuckDBPyConnection, table: str, sql: str) -> None:
    """Runs a staging statement whose `@TRY(...)` marks the JSON parses, plainly first: `from_json` fails the
    statement on a malformed string, and only then is it run again with each parse in `try()` (a third
    slower), so the malformed item reaches quarantine (`schema:<column>`) instead of failing the run."""
    try:
        con.execute(sql.replace("@TRY(", "("))
    except duckdb.InvalidInputException:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(sql.replace("@TRY(", "try("))


def _band_ranges(bands: Sequence[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """(band, min, max) best first: each band ends below the next better one's floor; the best at 1000."""
    ranges = []
    ceiling = 1000
    for band, floor in bands:
        ranges.append((band, floor, ceiling))
        ceiling = floor - 1
    return ranges


def _glob(root: Path, table: s.Table) -> list[str]:
    return sorted(str(p) for p in partition_dir(root, table, None).glob("dt=*/*.parquet"))


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _digest(value: Any) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
