"""The single-table credit store against a real moto server: keys, GSIs, pagination."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pynamodb.exceptions import PutError

from chalicelib.adapters.credit_dynamodb import PynamoCreditStore, credit_table
from chalicelib.adapters.dynamodb import ensure_table
from chalicelib.credit.model import (
    Application,
    BureauScore,
    CreditDecision,
    CustomerProfile,
    Evaluation,
    Outcome,
    PolicyRef,
    Reason,
    ScoreSource,
)
from chalicelib.errors import ValidationFailed
from chalicelib.settings import Settings
from tests.unit.builders import cpf

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(settings: Settings) -> PynamoCreditStore:
    model = credit_table(f"credit-{uuid.uuid4().hex[:8]}", settings.region, settings.aws_endpoint_url)
    ensure_table(model)
    return PynamoCreditStore(model)


def decision(n: int, who: str, outcome: Outcome = Outcome.APPROVED) -> CreditDecision:
    at = T0 + timedelta(minutes=n)
    amount = Decimal(f"{1000 + n}.00")
    application = Application(
        amount,
        24,
        "PERSONAL_LOAN",
        Decimal("8000.00"),
        Decimal("0.00"),
        700,
        date(2026, 11, 1),
        ScoreSource.BUREAU,
        at.date(),
    )
    reasons = () if outcome is Outcome.APPROVED else (Reason("LOW_SCORE", "Score too low.", outcome, "R01"),)
    evaluation = Evaluation(
        outcome,
        amount if outcome is Outcome.APPROVED else None,
        "B",
        700,
        reasons,
        {"installment": Decimal("50.12"), "band": "B", "term_months": 24, "dti_after": None},
        PolicyRef("retail", "1", "sha256:x"),
    )
    return CreditDecision(f"dec_{n:032x}", who, application, evaluation, at)


def n_of(decisions: Iterable[CreditDecision]) -> list[int]:
    return [int(d.decision_id.removeprefix("dec_"), 16) for d in decisions]


def test_profile_and_score_round_trip(store: PynamoCreditStore) -> None:
    store.put_profile(CustomerProfile(cpf(1), Decimal("8000.00"), Decimal("0.00"), T0))
    profile = store.get_profile(cpf(1))
    assert profile == CustomerProfile(cpf(1), Decimal("8000.00"), Decimal("0.00"), T0)
    assert store.get_profile(cpf(2)) is None
    store.save_score(cpf(1), BureauScore(700, date(2026, 11, 1)))
    assert store.last_score(cpf(1)) == BureauScore(700, date(2026, 11, 1))


def test_decisions_by_id_and_by_customer_newest_first_with_cursor(store: PynamoCreditStore) -> None:
    for n in range(5):
        store.add_decision(decision(n, cpf(1)))
    store.add_decision(decision(9, cpf(2), Outcome.REFUSED))
    assert store.get_decision(f"dec_{3:032x}") == decision(3, cpf(1))
    assert store.get_decision(f"dec_{9:032x}") == decision(9, cpf(2), Outcome.REFUSED)
    first = store.customer_decisions(cpf(1), 2, None)
    second = store.customer_decisions(cpf(1), 2, first.next_cursor)
    third = store.customer_decisions(cpf(1), 2, second.next_cursor)
    assert n_of(first.items + second.items + third.items) == [4, 3, 2, 1, 0]
    last = third.next_cursor
    assert last is None or store.customer_decisions(cpf(1), 2, last).items == ()
    assert n_of(store.all_decisions()) == [9, 4, 3, 2, 1, 0]


def test_a_decision_id_is_never_overwritten(store: PynamoCreditStore) -> None:
    store.add_decision(decision(1, cpf(1)))
    with pytest.raises(PutError):
        store.add_decision(decision(1, cpf(1), Outcome.REFUSED))
    stored = store.get_decision(f"dec_{1:032x}")
    assert stored is not None and stored.evaluation.outcome is Outcome.APPROVED


def test_forged_cursors_are_a_validation_error(store: PynamoCreditStore) -> None:
    with pytest.raises(ValidationFailed):
        store.customer_decisions(cpf(1), 2, "not-base64!!")


def test_published_policy_becomes_active(store: PynamoCreditStore) -> None:
    assert store.active_policy_text() is None
    store.publish_policy('{"policy_id": "p"}', "p", "1", "sha256:x")
    assert store.active_policy_text() == '{"policy_id": "p"}'
