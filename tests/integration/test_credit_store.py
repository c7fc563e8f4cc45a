"""The single-table credit store against a real moto server: keys, GSIs, pagination."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pynamodb.exceptions import PutError

from chalicelib.adapters.credit_dynamodb import PynamoCreditStore, credit_table
from chalicelib.adapters.dynamodb import ensure_table
from chalicelib.credit.cursors import DecisionCursors
from chalicelib.credit.model import (
    Application,
    BureauScore,
    CreditDecision,
    CustomerProfile,
    DecisionPosition,
    Evaluation,
    Outcome,
    PolicyRef,
    Reason,
    ScoreSource,
)
from chalicelib.credit.policy_provider import PolicyProvider
from chalicelib.credit.services import CreditService, ListDecisions
from chalicelib.documents import Cpf
from chalicelib.errors import InvalidCursor
from chalicelib.settings import Settings
from tests.unit.builders import cpf
from tests.unit.credit.fakes import FakeBureau

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
    second = store.customer_decisions(cpf(1), 2, first.resume_after)
    third = store.customer_decisions(cpf(1), 2, second.resume_after)
    assert n_of(first.items + second.items + third.items) == [4, 3, 2, 1, 0]
    assert first.resume_after == DecisionPosition(decision(3, cpf(1)).created_at, f"dec_{3:032x}")
    last = third.resume_after
    assert last is None or store.customer_decisions(cpf(1), 2, last).items == ()
    assert n_of(store.all_decisions()) == [9, 4, 3, 2, 1, 0]


def test_a_decision_id_is_never_overwritten(store: PynamoCreditStore) -> None:
    store.add_decision(decision(1, cpf(1)))
    with pytest.raises(PutError):
        store.add_decision(decision(1, cpf(1), Outcome.REFUSED))
    stored = store.get_decision(f"dec_{1:032x}")
    assert stored is not None and stored.evaluation.outcome is Outcome.APPROVED


def test_signed_cursors_page_through_the_table_and_hold_no_cpf(store: PynamoCreditStore) -> None:
    """The service's cursors over the real index: the position survives the round trip to the microsecond."""
    for n in range(5):
        store.add_decision(replace(decision(n, cpf(1)), created_at=T0 + timedelta(microseconds=n * 1001)))
    service = CreditService(store, FakeBureau(), PolicyProvider(store), cursors=DecisionCursors.with_key(b"c" * 32))
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(5):
        page = service.list_decisions(ListDecisions(Cpf(cpf(1)), 2, cursor))
        seen += n_of(page.items)
        cursor = page.next_cursor
        assert cursor is None or (cpf(1) not in cursor and len(cursor) == 55)
        if cursor is None:
            break
    assert seen == [4, 3, 2, 1, 0]


def test_a_cursor_never_reaches_the_table_for_another_customer(store: PynamoCreditStore) -> None:
    for n in range(3):
        store.add_decision(decision(n, cpf(1)))
    store.add_decision(decision(7, cpf(2)))
    service = CreditService(store, FakeBureau(), PolicyProvider(store), cursors=DecisionCursors.with_key(b"c" * 32))
    cursor = service.list_decisions(ListDecisions(Cpf(cpf(1)), 1)).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidCursor):
        service.list_decisions(ListDecisions(Cpf(cpf(2)), 1, cursor))


def test_published_policy_becomes_active(store: PynamoCreditStore) -> None:
    assert store.active_policy_text() is None
    store.publish_policy('{"policy_id": "p"}', "p", "1", "sha256:x")
    assert store.active_policy_text() == '{"policy_id": "p"}'
