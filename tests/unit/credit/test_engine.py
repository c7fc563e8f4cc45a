from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.credit.engine import CompiledPolicy
from chalicelib.credit.finance import installment, price_factor, ratio
from chalicelib.credit.model import Outcome, ScoreSource
from chalicelib.credit.policy import default_policy
from tests.unit.credit.builders import TODAY, application

POLICY = CompiledPolicy(default_policy())


def test_price_table_installment_matches_the_textbook_value() -> None:
    # R$ 1,000.00 at 1% a month over 12 months: R$ 88.85 a month
    assert installment(Decimal("1000.00"), price_factor(Decimal("0.01"), 12)) == Decimal("88.85")
    assert installment(Decimal("1200.00"), price_factor(Decimal("0"), 12)) == Decimal("100.00")


def test_ratios_with_no_income_are_infinite_only_when_something_is_owed() -> None:
    assert ratio(Decimal("10"), Decimal("0")) == Decimal("Infinity")
    assert ratio(Decimal("0"), Decimal("0")) == 0


def test_a_comfortable_applicant_is_approved_with_the_figures_that_decided_it() -> None:
    evaluation = POLICY.decide(application())
    assert (evaluation.outcome, evaluation.approved_amount, evaluation.risk_band) == (
        Outcome.APPROVED,
        Decimal("20000.00"),
        "B",
    )
    assert evaluation.reasons == ()
    figures = evaluation.figures
    assert figures["installment"] == Decimal("1092.48")
    assert figures["dti_after"] == Decimal("0.2866")
    assert figures["approval_limit"] == Decimal("64000.00")
    assert evaluation.policy == POLICY.ref


REACHING_EACH_REASON: list[tuple[dict[str, object], str, Outcome]] = [
    ({"score": 250}, "SCORE_BELOW_MINIMUM", Outcome.REFUSED),
    ({"monthly_income": Decimal("0")}, "NO_INCOME", Outcome.REFUSED),
    ({"amount": Decimal("100.00")}, "AMOUNT_OUT_OF_RANGE", Outcome.REFUSED),
    ({"amount": Decimal("300000.01"), "monthly_income": Decimal("90000")}, "AMOUNT_OUT_OF_RANGE", Outcome.REFUSED),
    ({"term_months": 3}, "TERM_OUT_OF_RANGE", Outcome.REFUSED),
    ({"term_months": 96}, "TERM_OUT_OF_RANGE", Outcome.REFUSED),
    ({"existing_debts": Decimal("3500.00")}, "DEBT_TO_INCOME_TOO_HIGH", Outcome.REFUSED),
    ({"existing_debts": Decimal("2000.00")}, "DEBT_TO_INCOME_ELEVATED", Outcome.REVIEW),
    ({"amount": Decimal("70000.00"), "term_months": 72}, "AMOUNT_ABOVE_APPROVAL_LIMIT", Outcome.REVIEW),
    ({"score_as_of": TODAY.replace(year=2026, month=8, day=1)}, "STALE_SCORE", Outcome.REVIEW),
    ({"score": 400, "amount": Decimal("5000.00"), "term_months": 48}, "LONG_TERM_HIGH_RISK", Outcome.REVIEW),
    (
        {"amount": Decimal("160000.00"), "monthly_income": Decimal("60000"), "term_months": 72},
        "HIGH_EXPOSURE_BELOW_PRIME",
        Outcome.REVIEW,
    ),
]


@pytest.mark.parametrize(("overrides", "code", "outcome"), REACHING_EACH_REASON)
def test_every_reason_code_in_the_default_policy_is_reachable(
    overrides: dict[str, object], code: str, outcome: Outcome
) -> None:
    evaluation = POLICY.decide(application(**overrides))
    assert code in [r.code for r in evaluation.reasons]
    assert evaluation.outcome is outcome
    assert (evaluation.approved_amount is None) is (outcome is not Outcome.APPROVED)


def test_the_cases_above_cover_every_reason_code_of_the_default_policy() -> None:
    assert {code for _, code, _ in REACHING_EACH_REASON} == {r.code for r in default_policy().rules}


def test_all_fired_rules_are_listed_and_refusal_wins() -> None:
    evaluation = POLICY.decide(application(score=250, term_months=96, existing_debts=Decimal("5000")))
    assert {r.code for r in evaluation.reasons} >= {"SCORE_BELOW_MINIMUM", "TERM_OUT_OF_RANGE"}
    assert evaluation.outcome is Outcome.REFUSED
    assert all(r.rule_id for r in evaluation.reasons)


@pytest.mark.parametrize(
    ("source", "code"), [(ScoreSource.NONE, "NO_SCORE"), (ScoreSource.UNAVAILABLE, "BUREAU_UNAVAILABLE")]
)
def test_without_a_score_the_decision_goes_to_review(source: ScoreSource, code: str) -> None:
    evaluation = POLICY.decide(application(score=None, score_as_of=None, score_source=source))
    assert (evaluation.outcome, [r.code for r in evaluation.reasons], evaluation.risk_band) == (
        Outcome.REVIEW,
        [code],
        None,
    )


@pytest.mark.parametrize(("score", "band"), [(0, "E"), (299, "E"), (300, "D"), (799, "B"), (800, "A"), (1000, "A")])
def test_band_boundaries(score: int, band: str) -> None:
    assert POLICY.band_for(score).band == band
