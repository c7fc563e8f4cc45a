"""Declarative quality rules, per dataset: each is a name and the SQL condition under which a row fails.

A row is checked against its dataset's rules in order; the first that fails sends it to quarantine
with that rule's name (`<kind>:<column>`), and the run counts rows quarantined per rule. Conditions
are evaluated by DuckDB over the staged rows (lake/transform.py) in one pass, so a NULL condition
passes (a missing optional value is `required`'s business, not `range`'s).

Kinds: schema (a value that does not parse as its type), required, check_digits (CPF/CNPJ mod 11,
chalicelib.documents), enum, range, referential (against a dimension), consistency, duplicate (by key).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.credit.model import Outcome, ScoreSource
from chalicelib.orders.model import OrderStatus
from chalicelib.quorum.model import PartyType

MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    fails: str
    """SQL over the staged row: true when the row breaks the rule."""
    detail: str


def _quote(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def required(column: str) -> Rule:
    return Rule(f"required:{column}", f"{column} IS NULL", f"{column} is missing")


def parses(column: str, raw: str, kind: str) -> Rule:
    return Rule(f"schema:{column}", f"{raw} IS NOT NULL AND {column} IS NULL", f"{column} is not a valid {kind}")


def money(column: str, raw: str) -> Rule:
    return Rule(
        f"schema:{column}",
        f"{raw} IS NOT NULL AND NOT regexp_matches({raw}, '{MONEY_PATTERN}')",
        f"{column} is not a decimal string with up to 2 places",
    )


def check_digits(column: str, valid: str) -> Rule:
    return Rule(f"check_digits:{column}", f"NOT {valid}", f"{column} is not a CPF/CNPJ with valid check digits")


def enum(column: str, values: Iterable[str]) -> Rule:
    allowed = sorted(values)
    return Rule(f"enum:{column}", f"{column} NOT IN ({_quote(allowed)})", f"{column} not one of {', '.join(allowed)}")


def in_range(column: str, low: float | None, high: float | None) -> Rule:
    parts = [f"{column} < {low}"] if low is not None else []
    parts += [f"{column} > {high}"] if high is not None else []
    return Rule(f"range:{column}", " OR ".join(parts), f"{column} outside [{low}, {high}]")


def referential(column: str, dimension: str, key: str) -> Rule:
    return Rule(
        f"referential:{column}",
        f"{column} NOT IN (SELECT {key} FROM ref_{dimension})",
        f"{column} not in {dimension}",
    )


def consistency(name: str, fails: str, detail: str) -> Rule:
    return Rule(f"consistency:{name}", fails, detail)


def duplicate(key: str) -> Rule:
    return Rule(f"duplicate:{key}", "dup_rank > 1", f"another row has the same {key}")


ORDER_RULES: tuple[Rule, ...] = (
    required("order_key"),
    duplicate("order_key"),
    required("status"),
    required("created_at_raw"),
    parses("created_at", "created_at_raw", "timestamp"),
    parses("request", "request_len", "JSON request"),
    parses("parties", "parties_len", "JSON list of parties"),
    parses("decided_at", "decided_at_raw", "timestamp"),
    enum("status", (s.value for s in OrderStatus)),
    required("area_id"),
    required("platform"),
    required("signature_method"),
    required("amount_raw"),
    money("amount", "amount_raw"),
    in_range("amount", 0.01, None),
    enum("requester_type", (t.value for t in PartyType)),
    required("requester_document"),
    check_digits("requester_document", "requester_valid"),
    consistency(
        "requester_document_kind",
        "(requester_type = 'PF' AND length(requester_document) <> 11)"
        " OR (requester_type = 'PJ' AND length(requester_document) <> 14)",
        "a PF requester needs a CPF, a PJ one a CNPJ",
    ),
    consistency(
        "decided_at",
        "(status IN ('QUORUM_MET', 'NO_QUORUM') AND decided_at IS NULL) OR decided_at < created_at",
        "a decided order has a decision time, not before its creation",
    ),
    referential("status", "dim_status", "status"),
)

CREDIT_RULES: tuple[Rule, ...] = (
    required("decision_id"),
    duplicate("decision_id"),
    parses("data", "data_len", "JSON decision"),
    required("cpf"),
    check_digits("cpf", "cpf_valid"),
    required("created_at_raw"),
    parses("created_at", "created_at_raw", "timestamp"),
    required("outcome"),
    enum("outcome", (o.value for o in Outcome)),
    required("requested_amount_raw"),
    money("requested_amount", "requested_amount_raw"),
    money("approved_amount", "approved_amount_raw"),
    money("monthly_income", "monthly_income_raw"),
    money("existing_debts", "existing_debts_raw"),
    in_range("requested_amount", 0.01, None),
    parses("term_months", "term_months_raw", "whole number"),
    in_range("term_months", 1, 600),
    parses("score", "score_raw", "whole number"),
    in_range("score", 0, 1000),
    enum("score_source", (s.value for s in ScoreSource)),
    required("product"),
    referential("product", "dim_product", "product"),
    referential("risk_band", "dim_risk_band", "risk_band"),
    required("policy_hash"),
    consistency(
        "approved_amount",
        "outcome = 'APPROVED' AND approved_amount IS NULL",
        "an approved decision has an approved amount",
    ),
    parses("decided_on", "decided_on_raw", "date"),
)

RULES: dict[str, tuple[Rule, ...]] = {"orders": ORDER_RULES, "credit_decisions": CREDIT_RULES}


def first_failure(rules: Iterable[Rule]) -> str:
    """The SQL expression naming the first rule a row fails (NULL when it passes them all)."""
    branches = "\n".join(f"    WHEN coalesce({r.fails}, false) THEN '{r.name}'" for r in rules)
    return f"CASE\n{branches}\n    ELSE NULL END"
