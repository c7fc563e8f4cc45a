"""Invariants of the default policy over generated applications (hypothesis)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chalicelib.credit.engine import CompiledPolicy
from chalicelib.credit.model import OUTCOME_SEVERITY, Application
from chalicelib.credit.policy import default_policy
from tests.unit.credit.builders import TODAY, application

POLICY = CompiledPolicy(default_policy())
money = st.decimals(min_value=0, max_value=400_000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def applications(draw: st.DrawFn) -> Application:
    return application(
        amount=draw(st.decimals(min_value=Decimal("0.01"), max_value=400_000, places=2)),
        term_months=draw(st.integers(1, 120)),
        monthly_income=draw(money),
        existing_debts=draw(st.decimals(min_value=0, max_value=50_000, places=2)),
        score=draw(st.integers(0, 1000)),
        score_as_of=TODAY - timedelta(days=draw(st.integers(0, 400))),
    )


@st.composite
def plausible_applications(draw: st.DrawFn) -> Application:
    """Applications the policy can approve: uniform draws over all inputs are nearly all REFUSED."""
    income = draw(st.decimals(min_value=1_000, max_value=60_000, places=2))
    return application(
        amount=draw(st.decimals(min_value=Decimal("500"), max_value=income * 6, places=2)),
        term_months=draw(st.integers(6, 72)),
        monthly_income=income,
        existing_debts=draw(st.decimals(min_value=0, max_value=income * Decimal("0.3"), places=2)),
        score=draw(st.integers(300, 1000)),
        score_as_of=TODAY - timedelta(days=draw(st.integers(0, 90))),
    )


def severity(a: Application) -> int:
    return OUTCOME_SEVERITY[POLICY.decide(a).outcome]


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(applications(), plausible_applications()),
    st.decimals(min_value=0, max_value=100_000, places=2),
    st.integers(0, 1000),
)
def test_raising_income_or_score_never_worsens_the_outcome(a: Application, more_income: Decimal, score: int) -> None:
    assert a.score is not None
    assume(severity(a) < max(OUTCOME_SEVERITY.values()))  # nothing can be worse than REFUSED
    richer = application(**{**_fields(a), "monthly_income": a.monthly_income + more_income})
    better = application(**{**_fields(a), "score": max(a.score, score)})
    assert severity(richer) <= severity(a)
    assert severity(better) <= severity(a)


@settings(max_examples=400, deadline=None)
@given(plausible_applications())
def test_approved_never_exceeds_the_request_or_the_approval_limit(a: Application) -> None:
    evaluation = POLICY.decide(a)
    assume(evaluation.approved_amount is not None)
    assert evaluation.approved_amount is not None and evaluation.approved_amount <= a.amount
    limit = evaluation.figures["approval_limit"]
    assert isinstance(limit, Decimal) and evaluation.approved_amount <= limit


@settings(max_examples=200, deadline=None)
@given(applications())
def test_identical_inputs_give_identical_outputs(a: Application) -> None:
    fresh = CompiledPolicy(default_policy())
    assert POLICY.decide(a) == POLICY.decide(a) == fresh.decide(a)


def _fields(a: Application) -> dict[str, object]:
    return {name: getattr(a, name) for name in Application.__slots__}
