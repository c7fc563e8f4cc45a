"""The generated evaluator returns exactly what today's closure engine (the oracle) returns.

Exactly: outcome, approved amount, band, every reason in order, every figure with its Decimal
exponent, the policy ref; or the same exception. Over the default policy and over random policies.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.baseline_credit import CompiledPolicy as Oracle
from chalicelib.credit.engine import SCORE_TABLE_MAX, CompiledPolicy
from chalicelib.credit.model import Application, Evaluation, ScoreSource
from chalicelib.credit.policy import NUMERIC_FIELDS, Policy, default_policy, parse_policy
from tests.unit.credit.builders import TODAY

DEFAULT = default_policy()
INTEGER_FIELDS = ("score", "score_age_days", "term_months")
DECIMAL_FIELDS = tuple(sorted(NUMERIC_FIELDS - set(INTEGER_FIELDS)))
decimals = st.decimals(min_value=-10, max_value=400_000, places=2, allow_nan=False, allow_infinity=False)


def edges(policy: Policy) -> list[int]:
    """Scores either side of every band floor and of the range: where an off-by-one would hide."""
    floors = [b.min_score for b in policy.bands] + [policy.score_max]
    return sorted({floor + step for floor in floors for step in (-1, 0, 1)})


@st.composite
def applications(draw: st.DrawFn, scores: list[int] | None = None) -> Application:
    """Edges on purpose: zero and negative income, odd exponents, no score, no score date, any source."""
    score = draw(st.one_of(st.none(), st.integers(-50, 1100), st.sampled_from(scores or edges(DEFAULT))))
    return Application(
        amount=draw(st.one_of(decimals, st.sampled_from([Decimal("500"), Decimal("150000.000"), Decimal("0")]))),
        term_months=draw(st.integers(1, 120)),
        product=draw(st.sampled_from(["PERSONAL_LOAN", "PAYROLL_LOAN", "OTHER"])),
        monthly_income=draw(st.one_of(decimals, st.just(Decimal(0)), st.just(Decimal("-0.00")))),
        existing_debts=draw(st.decimals(min_value=0, max_value=50_000, places=draw(st.integers(0, 3)))),
        score=score,
        score_as_of=draw(st.one_of(st.none(), st.integers(0, 400).map(lambda d: TODAY - timedelta(days=d)))),
        score_source=draw(st.sampled_from(list(ScoreSource))),
        today=TODAY,
    )


def number(draw: st.DrawFn, field: str) -> Any:
    if field in INTEGER_FIELDS:
        return draw(st.one_of(st.integers(-5, 1000), st.sampled_from(["90", "90.0", "90.5", "36"])))
    return str(draw(st.decimals(min_value=-1, max_value=300_000, places=draw(st.integers(0, 4)))))


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    kind = draw(st.sampled_from(["numeric", "field", "text"] + (["all", "any", "not"] if depth < 3 else [])))
    if kind in ("all", "any"):
        return {kind: draw(st.lists(conditions(depth + 1), min_size=1, max_size=3))}
    if kind == "not":
        return {"not": draw(conditions(depth + 1))}
    numeric_op = st.sampled_from(["lt", "lte", "gt", "gte", "eq", "ne"])
    if kind == "numeric":
        field = draw(st.sampled_from(sorted(NUMERIC_FIELDS)))
        return {"field": field, "op": draw(numeric_op), "value": number(draw, field)}
    if kind == "field":
        left, right = draw(st.sampled_from(DECIMAL_FIELDS)), draw(st.sampled_from(DECIMAL_FIELDS))
        return {"field": left, "op": draw(numeric_op), "value_field": right}
    field = draw(st.sampled_from(["band", "product"]))
    values = ["A", "B", "C", "PERSONAL_LOAN", "OTHER"]
    op = draw(st.sampled_from(["eq", "ne", "in", "not_in"]))
    value: Any = (
        draw(st.lists(st.sampled_from(values), min_size=1)) if op in ("in", "not_in") else draw(st.sampled_from(values))
    )
    return {"field": field, "op": op, "value": value}


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """Valid random policies, narrow score ranges (a band per score) and wide ones (bisect)."""
    low = draw(st.integers(-100, 100))
    high = low + draw(st.sampled_from([1, 50, 1000, SCORE_TABLE_MAX, SCORE_TABLE_MAX + 1, 10**9]))
    floors = sorted({low, *draw(st.lists(st.one_of(st.integers(low, high), st.just(high)), max_size=4))})
    bands = [
        {
            "band": "ABCDE"[i],
            "min_score": floor,
            "monthly_rate": draw(st.sampled_from(["0", "0.0149", "0.0799", "0.5"])),
            "income_multiple": draw(st.sampled_from(["0", "1.5", "12", "0.333"])),
        }
        for i, floor in enumerate(reversed(floors))
    ]
    rules = [
        {
            "id": f"R{i}",
            "outcome": draw(st.sampled_from(["REFUSED", "REVIEW"])),
            "reason": {"code": f"RULE_{i}", "message": f"rule {i}"},
            "when": draw(conditions()),
        }
        for i in range(draw(st.integers(0, 8)))
    ]
    return parse_policy(
        {
            "policy_id": "random",
            "version": "1",
            "products": ["PERSONAL_LOAN"],
            "score_range": {"min": low, "max": high},
            "bureau": {"stored_score_max_age_days": 30},
            "approval_limit": {"max_amount": draw(st.sampled_from(["0", "300000.00", "1000"]))},
            "bands": bands,
            "rules": rules,
        }
    )


def outcome_of(policy: CompiledPolicy | Oracle, application: Application) -> Evaluation | str:
    try:
        return policy.decide(application)
    except Exception as exc:  # the same failure is as much a part of "identical" as the same answer
        return type(exc).__name__


def assert_identical(new: Evaluation | str, old: Evaluation | str) -> None:
    assert new == old
    if isinstance(new, Evaluation) and isinstance(old, Evaluation):  # == on Decimals ignores the exponent
        assert list(new.figures) == list(old.figures)
        assert [str(v) for v in new.figures.values()] == [str(v) for v in old.figures.values()]
        assert str(new.approved_amount) == str(old.approved_amount)


@settings(max_examples=600, deadline=None)
@given(applications())
def test_default_policy_compiled_equals_the_closure_engine(application: Application) -> None:
    assert_identical(outcome_of(CompiledPolicy(DEFAULT), application), outcome_of(Oracle(DEFAULT), application))


@settings(max_examples=300, deadline=None)
@given(policies(), st.data())
def test_random_policies_compiled_equal_the_closure_engine(policy: Policy, data: st.DataObject) -> None:
    new, old = CompiledPolicy(policy), Oracle(policy)
    for application in data.draw(st.lists(applications(edges(policy)), min_size=1, max_size=5)):
        assert_identical(outcome_of(new, application), outcome_of(old, application))


def test_one_generated_function_per_policy_content() -> None:
    """Compiling is the expensive part; a provider reloading the same document must not pay it again."""
    assert CompiledPolicy(default_policy()).decide is CompiledPolicy(default_policy()).decide
