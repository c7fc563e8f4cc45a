"""The single-table credit store against a real moto server: keys, GSIs, pagination."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pynamodb.exceptions import PutError

from chalicelib.adapters.credit_dynamodb import PynamoCreditStore, credit_table
from chalicelib.adapters.dynamodb import ensure_table
from chalicelib.credit.model import BureauScore, CustomerProfile
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


def decision(n: int, who: str, outcome: str = "APPROVED") -> dict[str, Any]:
    at = T0 + timedelta(minutes=n)
    return {"decision_id": f"dec_{n:032x}", "cpf": who, "outcome": outcome, "created_at": at.isoformat(), "n": n}


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
    store.add_decision(decision(9, cpf(2), "REFUSED"))
    assert store.get_decision(f"dec_{3:032x}") == decision(3, cpf(1))
    first, cursor = store.customer_decisions(cpf(1), 2, None)
    second, cursor2 = store.customer_decisions(cpf(1), 2, cursor)
    third, cursor3 = store.customer_decisions(cpf(1), 2, cursor2)
    assert [d["n"] for d in first + second + third] == [4, 3, 2, 1, 0]
    assert cursor3 is None or store.customer_decisions(cpf(1), 2, cursor3)[0] == []
    assert [d["n"] for d in store.all_decisions()] == [9, 4, 3, 2, 1, 0]


def test_a_decision_id_is_never_overwritten(store: PynamoCreditStore) -> None:
    store.add_decision(decision(1, cpf(1)))
    with pytest.raises(PutError):
        store.add_decision({**decision(1, cpf(1)), "outcome": "REFUSED"})
    stored = store.get_decision(f"dec_{1:032x}")
    assert stored is not None and stored["outcome"] == "APPROVED"


def test_forged_cursors_are_a_validation_error(store: PynamoCreditStore) -> None:
    with pytest.raises(ValidationFailed):
        store.customer_decisions(cpf(1), 2, "not-base64!!")


def test_published_policy_becomes_active(store: PynamoCreditStore) -> None:
    assert store.active_policy_text() is None
    store.publish_policy('{"policy_id": "p"}', "p", "1", "sha256:x")
    assert store.active_policy_text() == '{"policy_id": "p"}'
