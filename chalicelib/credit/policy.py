"""Credit policies as data: a JSON document validated on load, with errors that name the bad field.

Conditions are structured comparisons, never code:
    {"field": "dti_after", "op": "gt", "value": "0.35"}
    {"all": [...]}, {"any": [...]}, {"not": {...}}
Numbers are decimal strings or integers (a JSON float is refused: it has already lost precision).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

from chalicelib.credit.errors import PolicyError
from chalicelib.credit.model import Outcome

NUMERIC_FIELDS = frozenset(
    {
        "score",
        "score_age_days",
        "monthly_income",
        "existing_debts",
        "amount",
        "term_months",
        "monthly_rate",
        "installment",
        "dti_before",
        "dti_after",
        "installment_to_income",
        "approval_limit",
    }
)
TEXT_FIELDS = frozenset({"band", "product"})
NUMERIC_OPS = frozenset({"lt", "lte", "gt", "gte", "eq", "ne"})
TEXT_OPS = frozenset({"eq", "ne", "in", "not_in"})
BUILT_IN_CODES = frozenset({"NO_SCORE", "BUREAU_UNAVAILABLE"})
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")


@dataclass(frozen=True, slots=True)
class Compare:
    """`field op value`, or `field op other_field` when the policy names `value_field`."""

    field: str
    op: str
    value: Decimal | str | frozenset[str] | None
    other_field: str | None = None


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = Compare | AllOf | AnyOf | Not


@dataclass(frozen=True, slots=True)
class Band:
    band: str
    min_score: int
    monthly_rate: Decimal
    income_multiple: Decimal


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: str
    when: Condition
    outcome: Outcome
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Policy:
    policy_id: str
    version: str
    hash: str
    products: frozenset[str]
    score_min: int
    score_max: int
    stored_score_max_age_days: int
    bands: tuple[Band, ...]
    """Highest min_score first."""
    approval_limit_cap: Decimal
    rules: tuple[Rule, ...]
    document: dict[str, Any]


def content_hash(document: dict[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def load_policy_text(text: str) -> Policy:
    try:
        document = json.loads(text, parse_float=_refuse_float)
    except PolicyError:
        raise
    except ValueError as exc:
        raise PolicyError("$", f"not valid JSON ({exc})") from None
    return parse_policy(document)


def default_policy() -> Policy:
    return load_policy_text(resources.files("chalicelib.credit").joinpath("default_policy.json").read_text())


def _refuse_float(text: str) -> Decimal:
    raise PolicyError("$", f"number {text} must be a decimal string or an integer, not a float")


def parse_policy(document: Any) -> Policy:
    doc = _object(document, "$")
    score = _object(doc.get("score_range"), "score_range")
    score_min, score_max = _integer(score.get("min"), "score_range.min"), _integer(score.get("max"), "score_range.max")
    if score_min >= score_max:
        raise PolicyError("score_range", "min must be below max")
    bureau = _object(doc.get("bureau"), "bureau")
    limit = _object(doc.get("approval_limit"), "approval_limit")
    rules_raw = _list(doc.get("rules"), "rules")
    rules = tuple(_rule(raw, f"rules[{i}]") for i, raw in enumerate(rules_raw))
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.rule_id in seen:
            raise PolicyError(f"rules[{i}].id", f"duplicate rule id '{rule.rule_id}'")
        seen.add(rule.rule_id)
    return Policy(
        policy_id=_text(doc.get("policy_id"), "policy_id"),
        version=_text(doc.get("version"), "version"),
        hash=content_hash(doc),
        products=frozenset(_text(p, f"products[{i}]") for i, p in enumerate(_list(doc.get("products"), "products"))),
        score_min=score_min,
        score_max=score_max,
        stored_score_max_age_days=_integer(
            bureau.get("stored_score_max_age_days"), "bureau.stored_score_max_age_days", minimum=0
        ),
        bands=_bands(doc.get("bands"), score_min, score_max),
        approval_limit_cap=_decimal(limit.get("max_amount"), "approval_limit.max_amount", minimum=Decimal(0)),
        rules=rules,
        document=doc,
    )


def _bands(raw: Any, score_min: int, score_max: int) -> tuple[Band, ...]:
    bands = []
    for i, item in enumerate(_list(raw, "bands")):
        where = f"bands[{i}]"
        band = _object(item, where)
        rate = _decimal(band.get("monthly_rate"), f"{where}.monthly_rate", minimum=Decimal(0))
        if rate >= 1:
            raise PolicyError(f"{where}.monthly_rate", 'is a monthly fraction (e.g. "0.0229"), must be below 1')
        bands.append(
            Band(
                band=_text(band.get("band"), f"{where}.band"),
                min_score=_integer(band.get("min_score"), f"{where}.min_score", minimum=score_min, maximum=score_max),
                monthly_rate=rate,
                income_multiple=_decimal(band.get("income_multiple"), f"{where}.income_multiple", minimum=Decimal(0)),
            )
        )
    if not bands:
        raise PolicyError("bands", "at least one band is required")
    if len({b.band for b in bands}) != len(bands) or len({b.min_score for b in bands}) != len(bands):
        raise PolicyError("bands", "band names and min_score values must be unique")
    if min(b.min_score for b in bands) != score_min:
        raise PolicyError("bands", f"the lowest band must start at score_range.min ({score_min})")
    return tuple(sorted(bands, key=lambda b: -b.min_score))


def _rule(raw: Any, where: str) -> Rule:
    rule = _object(raw, where)
    outcome = rule.get("outcome")
    if outcome not in (Outcome.REFUSED.value, Outcome.REVIEW.value):
        raise PolicyError(f"{where}.outcome", "must be REFUSED or REVIEW")
    reason = _object(rule.get("reason"), f"{where}.reason")
    code = _text(reason.get("code"), f"{where}.reason.code")
    if not _CODE.match(code) or code in BUILT_IN_CODES:
        raise PolicyError(f"{where}.reason.code", "must be UPPER_SNAKE_CASE and not a built-in code")
    return Rule(
        rule_id=_text(rule.get("id"), f"{where}.id"),
        when=_condition(rule.get("when"), f"{where}.when"),
        outcome=Outcome(outcome),
        code=code,
        message=_text(reason.get("message"), f"{where}.reason.message"),
    )


def _condition(raw: Any, where: str) -> Condition:
    node = _object(raw, where)
    for combinator, build in (("all", AllOf), ("any", AnyOf)):
        if combinator in node:
            items = _list(node[combinator], f"{where}.{combinator}")
            if not items:
                raise PolicyError(f"{where}.{combinator}", "needs at least one condition")
            return build(tuple(_condition(c, f"{where}.{combinator}[{i}]") for i, c in enumerate(items)))
    if "not" in node:
        return Not(_condition(node["not"], f"{where}.not"))
    unknown = sorted(set(node) - {"field", "op", "value", "value_field"})
    if unknown:
        raise PolicyError(f"{where}.{unknown[0]}", "unknown key in a condition")
    field = node.get("field")
    op = node.get("op")
    if field in NUMERIC_FIELDS:
        if op not in NUMERIC_OPS:
            raise PolicyError(f"{where}.op", f"must be one of {sorted(NUMERIC_OPS)} for numeric field '{field}'")
        if "value_field" in node:
            other = node["value_field"]
            if other not in NUMERIC_FIELDS or "value" in node:
                raise PolicyError(f"{where}.value_field", "must name a numeric field, instead of a value")
            return Compare(field, op, None, other)
        return Compare(field, op, _decimal(node.get("value"), f"{where}.value"))
    if field in TEXT_FIELDS:
        if op not in TEXT_OPS:
            raise PolicyError(f"{where}.op", f"must be one of {sorted(TEXT_OPS)} for text field '{field}'")
        value = node.get("value")
        if op in ("in", "not_in"):
            items = _list(value, f"{where}.value")
            return Compare(field, op, frozenset(_text(v, f"{where}.value[{i}]") for i, v in enumerate(items)))
        return Compare(field, op, _text(value, f"{where}.value"))
    known = sorted(NUMERIC_FIELDS | TEXT_FIELDS)
    raise PolicyError(f"{where}.field", f"unknown field {field!r}; known: {', '.join(known)}")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyError(where, "must be an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise PolicyError(where, "must be a list")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(where, "must be a non-empty string")
    return value


def _integer(value: Any, where: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(where, "must be an integer")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise PolicyError(where, f"must be between {minimum} and {maximum}")
    return value


def _decimal(value: Any, where: str, minimum: Decimal | None = None) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise PolicyError(where, "must be a decimal string or an integer")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise PolicyError(where, f"{value!r} is not a number") from None
    if not number.is_finite() or (minimum is not None and number < minimum):
        raise PolicyError(where, f"must be a finite number{f' >= {minimum}' if minimum is not None else ''}")
    return number
