"""Every table of the lake as a pyarrow schema, with its layer and partition keys.

The one description of the lake's shapes: the transform writes these schemas exactly (columns in this
order, these types), the quality rules check against them, and the infrastructure generates its Glue
tables from `glue_columns` and `partition_keys` (partition projection on `dt`, a `YYYY-MM-DD` string).

Layers (README, Data lake): `raw/` holds the DynamoDB export files as exported (clear identifiers,
restricted); `processed/` one normalized row per item or per flattened party/reason, identifiers
pseudonymized; `curated/` the analytics model (facts and dimensions). `quarantine/`, `quality/` and
`manifests/` are the run's bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

MONEY = pa.decimal128(18, 2)
"""Money: at most 12 integer digits and 2 places (chalicelib/money.py), so 18 digits hold any sum of a day."""
RATIO = pa.decimal128(18, 6)
UTC_TS = pa.timestamp("us", tz="UTC")
HASH = pa.string()
"""A pseudonymized CPF/CNPJ: hex HMAC-SHA256 keyed per purpose from the app secret (lake/pseudonym.py)."""

DT = "dt"
"""The partition column: the UTC day (YYYY-MM-DD) the order or decision was created."""


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    layer: str
    """raw | processed | curated | quarantine | quality"""
    schema: pa.Schema
    """The columns written into the Parquet files (the partition column is in the path, not in the file)."""
    partitioned: bool
    key: tuple[str, ...]
    """The columns that identify a row (duplicates by key are quarantined)."""
    description: str

    @property
    def prefix(self) -> str:
        return f"{self.layer}/{self.name}"


def _schema(*fields: tuple[str, pa.DataType, bool]) -> pa.Schema:
    return pa.schema([pa.field(name, kind, nullable=nullable) for name, kind, nullable in fields])


# ---- processed: normalized items, identifiers pseudonymized --------------------------------------------------

PROCESSED_ORDERS = Table(
    "orders",
    "processed",
    _schema(
        ("order_key", pa.string(), False),
        ("status", pa.string(), False),
        ("area_id", pa.string(), False),
        ("product", pa.string(), False),
        ("power_code", pa.string(), False),
        ("platform", pa.string(), False),
        ("signature_method", pa.string(), False),
        ("amount", MONEY, False),
        ("requester_type", pa.string(), False),
        ("requester_hash", HASH, False),
        ("guarantors_count", pa.int16(), False),
        ("quorum", pa.bool_(), True),
        ("reason", pa.string(), True),
        ("failure_partner", pa.string(), True),
        ("participants_count", pa.int32(), False),
        ("parties_claim_checked", pa.bool_(), False),
        ("created_at", UTC_TS, False),
        ("updated_at", UTC_TS, False),
        ("decided_at", UTC_TS, True),
        ("result_published", pa.bool_(), False),
    ),
    partitioned=True,
    key=("order_key",),
    description="One row per order item of ame-orders.",
)

PROCESSED_ORDER_PARTIES = Table(
    "order_parties",
    "processed",
    _schema(
        ("order_key", pa.string(), False),
        ("party_seq", pa.int16(), False),
        ("role", pa.string(), False),
        ("party_type", pa.string(), False),
        ("document_hash", HASH, False),
        ("quorum", pa.bool_(), False),
        ("reason", pa.string(), True),
        ("participants_count", pa.int32(), False),
        ("enabled_participants", pa.int32(), False),
        ("signers_count", pa.int32(), False),
        ("signer_sets_total", pa.int64(), False),
    ),
    partitioned=True,
    key=("order_key", "party_seq"),
    description="The decided parties of each order, one row per party (flattened from `parties`).",
)

PROCESSED_CREDIT_DECISIONS = Table(
    "credit_decisions",
    "processed",
    _schema(
        ("decision_id", pa.string(), False),
        ("customer_hash", HASH, False),
        ("outcome", pa.string(), False),
        ("approved_amount", MONEY, True),
        ("requested_amount", MONEY, False),
        ("term_months", pa.int16(), False),
        ("product", pa.string(), False),
        ("monthly_income", MONEY, False),
        ("existing_debts", MONEY, False),
        ("score", pa.int16(), True),
        ("score_source", pa.string(), False),
        ("risk_band", pa.string(), True),
        ("risk_band_source", pa.string(), False),
        ("policy_id", pa.string(), False),
        ("policy_version", pa.string(), False),
        ("policy_hash", pa.string(), False),
        ("reasons_count", pa.int16(), False),
        ("decided_on", pa.date32(), False),
        ("created_at", UTC_TS, False),
    ),
    partitioned=True,
    key=("decision_id",),
    description="One row per DECISION item of ame-credit; risk_band_source: DECISION | BUREAU | UNAVAILABLE.",
)

PROCESSED_CREDIT_REASONS = Table(
    "credit_reasons",
    "processed",
    _schema(
        ("decision_id", pa.string(), False),
        ("reason_seq", pa.int16(), False),
        ("code", pa.string(), False),
        ("outcome", pa.string(), False),
        ("rule_id", pa.string(), True),
    ),
    partitioned=True,
    key=("decision_id", "reason_seq"),
    description="The reasons of each decision, one row per reason (flattened from `reasons`).",
)

# ---- curated: the analytics model (seed 002) ------------------------------------------------------------------

FACT_ENVELOPE_ORDER = Table(
    "fact_envelope_order",
    "curated",
    _schema(
        ("order_key", pa.string(), False),
        ("date_key", pa.int32(), False),
        ("area_id", pa.string(), False),
        ("platform", pa.string(), False),
        ("signature_method", pa.string(), False),
        ("status", pa.string(), False),
        ("product", pa.string(), False),
        ("requester_type", pa.string(), False),
        ("requester_hash", HASH, False),
        ("guarantors_count", pa.int16(), False),
        ("participants_count", pa.int32(), False),
        ("quorum_complete", pa.bool_(), False),
        ("failure_reason", pa.string(), True),
        ("failure_partner", pa.string(), True),
        ("amount", MONEY, False),
        ("created_at", UTC_TS, False),
        ("decided_at", UTC_TS, True),
        ("decision_seconds", pa.float64(), True),
    ),
    partitioned=True,
    key=("order_key",),
    description="One row per envelope order; failure_reason is the order's reason code when not QUORUM_MET.",
)

FACT_CREDIT_DECISION = Table(
    "fact_credit_decision",
    "curated",
    _schema(
        ("decision_id", pa.string(), False),
        ("date_key", pa.int32(), False),
        ("customer_hash", HASH, False),
        ("product", pa.string(), False),
        ("risk_band", pa.string(), False),
        ("risk_band_source", pa.string(), False),
        ("policy_key", pa.string(), False),
        ("outcome", pa.string(), False),
        ("approved", pa.bool_(), False),
        ("score", pa.int16(), True),
        ("score_source", pa.string(), False),
        ("requested_amount", MONEY, False),
        ("approved_amount", MONEY, True),
        ("term_months", pa.int16(), False),
        ("monthly_income", MONEY, False),
        ("first_reason_code", pa.string(), True),
        ("reasons_count", pa.int16(), False),
        ("created_at", UTC_TS, False),
    ),
    partitioned=True,
    key=("decision_id",),
    description="One row per credit decision; risk_band is UNKNOWN when neither the decision nor the bureau gave one.",
)

DIM_AREA = Table(
    "dim_area",
    "curated",
    _schema(("area_id", pa.string(), False), ("area_name", pa.string(), False)),
    partitioned=False,
    key=("area_id",),
    description="Areas (the systems that place orders).",
)
DIM_PLATFORM = Table(
    "dim_platform",
    "curated",
    _schema(("platform", pa.string(), False), ("platform_name", pa.string(), False)),
    partitioned=False,
    key=("platform",),
    description="Platforms orders come from.",
)
DIM_SIGNATURE_METHOD = Table(
    "dim_signature_method",
    "curated",
    _schema(("signature_method", pa.string(), False), ("signature_method_name", pa.string(), False)),
    partitioned=False,
    key=("signature_method",),
    description="Signature methods.",
)
DIM_STATUS = Table(
    "dim_status",
    "curated",
    _schema(
        ("status", pa.string(), False),
        ("status_name", pa.string(), False),
        ("is_decided", pa.bool_(), False),
        ("is_failure", pa.bool_(), False),
    ),
    partitioned=False,
    key=("status",),
    description="Order statuses (chalicelib.orders.model.OrderStatus).",
)
DIM_DATE = Table(
    "dim_date",
    "curated",
    _schema(
        ("date_key", pa.int32(), False),
        ("date", pa.date32(), False),
        ("year", pa.int16(), False),
        ("month", pa.int8(), False),
        ("day", pa.int8(), False),
        ("iso_week", pa.int8(), False),
        ("weekday", pa.int8(), False),
        ("is_weekend", pa.bool_(), False),
    ),
    partitioned=False,
    key=("date_key",),
    description="Calendar days (date_key = YYYYMMDD), covering every day the facts name.",
)
DIM_POLICY_VERSION = Table(
    "dim_policy_version",
    "curated",
    _schema(
        ("policy_key", pa.string(), False),
        ("policy_id", pa.string(), False),
        ("policy_version", pa.string(), False),
        ("policy_hash", pa.string(), False),
        ("first_seen", UTC_TS, False),
        ("last_seen", UTC_TS, False),
    ),
    partitioned=False,
    key=("policy_key",),
    description="Each credit policy version decisions were made under (policy_key = id@version#hash[:12]).",
)
DIM_RISK_BAND = Table(
    "dim_risk_band",
    "curated",
    _schema(
        ("risk_band", pa.string(), False),
        ("min_score", pa.int16(), True),
        ("max_score", pa.int16(), True),
        ("band_order", pa.int8(), False),
    ),
    partitioned=False,
    key=("risk_band",),
    description="Risk bands (A best .. E worst) with their score ranges, plus UNKNOWN.",
)
DIM_PRODUCT = Table(
    "dim_product",
    "curated",
    _schema(("product", pa.string(), False), ("product_name", pa.string(), False)),
    partitioned=False,
    key=("product",),
    description="Credit products.",
)

# ---- bookkeeping ---------------------------------------------------------------------------------------------

QUARANTINE = Table(
    "quarantine",
    "quarantine",
    _schema(
        ("dataset", pa.string(), False),
        ("rule", pa.string(), False),
        ("row_key", pa.string(), True),
        ("detail", pa.string(), False),
        ("record", pa.string(), False),
    ),
    partitioned=True,
    key=("dataset", "rule", "row_key"),
    description="Rows that failed a quality rule: the rule and the row as JSON (identifiers pseudonymized).",
)

QUALITY_METRICS = Table(
    "quality_metrics",
    "quality",
    _schema(
        ("run_id", pa.string(), False),
        ("dataset", pa.string(), False),
        ("metric", pa.string(), False),
        ("rule", pa.string(), True),
        ("column_name", pa.string(), True),
        ("value", pa.float64(), False),
    ),
    partitioned=True,
    key=("dataset", "metric", "rule", "column_name"),
    description="Per run and day: rows_read, rows_written, rows_quarantined (per rule), null_rate (per column).",
)

MANIFEST_FIELDS: tuple[str, ...] = (
    "run_id",
    "code_version",
    "source",
    "days",
    "inputs",
    "outputs",
    "policy_hashes",
    "quality",
)
"""Keys of manifests/run=<run_id>.json: inputs and outputs are lists of {path, sha256, bytes, rows}."""

PROCESSED = (PROCESSED_ORDERS, PROCESSED_ORDER_PARTIES, PROCESSED_CREDIT_DECISIONS, PROCESSED_CREDIT_REASONS)
FACTS = (FACT_ENVELOPE_ORDER, FACT_CREDIT_DECISION)
DIMENSIONS = (
    DIM_AREA,
    DIM_PLATFORM,
    DIM_SIGNATURE_METHOD,
    DIM_STATUS,
    DIM_DATE,
    DIM_POLICY_VERSION,
    DIM_RISK_BAND,
    DIM_PRODUCT,
)
BOOKKEEPING = (QUARANTINE, QUALITY_METRICS)
TABLES: dict[str, Table] = {t.name: t for t in (*PROCESSED, *FACTS, *DIMENSIONS, *BOOKKEEPING)}


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"no lake table {name!r}; known: {', '.join(sorted(TABLES))}") from None


def glue_type(kind: pa.DataType) -> str:
    """The Glue/Athena (Hive DDL) type of an arrow type."""
    if pa.types.is_decimal(kind):
        return f"decimal({kind.precision},{kind.scale})"
    if pa.types.is_timestamp(kind):
        return "timestamp"
    simple = {
        pa.string(): "string",
        pa.bool_(): "boolean",
        pa.int8(): "tinyint",
        pa.int16(): "smallint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.float64(): "double",
        pa.date32(): "date",
    }
    try:
        return simple[kind]
    except KeyError:
        raise ValueError(f"no Glue type for {kind}") from None


def glue_columns(name: str) -> list[tuple[str, str]]:
    """The table's data columns (not the partition keys) as (name, Glue type), in file order."""
    return [(f.name, glue_type(f.type)) for f in table(name).schema]


def partition_keys(name: str) -> list[tuple[str, str]]:
    """The partition keys as (name, Glue type): `dt` (string YYYY-MM-DD) for day-partitioned tables."""
    return [(DT, "string")] if table(name).partitioned else []


def location(name: str) -> str:
    """The table's prefix under the lake root (an S3 bucket or a local directory)."""
    return table(name).prefix
