"""PynamoOrderRepository against a real moto server: conditions, transactions, round trips."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib import bootstrap
from chalicelib.adapters.dynamodb import PynamoOrderRepository, bind_models, create_tables
from chalicelib.identity.model import Caller, Scope
from chalicelib.orders.errors import IdempotencyKeyTaken
from chalicelib.orders.model import IdempotencyRecord, Order, OrderStatus
from chalicelib.orders.requests import parse_order_request
from chalicelib.orders.services import CreateOrder
from chalicelib.quorum.model import (
    Contact,
    DisabledReason,
    OrderVerdict,
    Participant,
    PartyReason,
    PartyType,
    PartyVerdict,
    Role,
)
from chalicelib.settings import Settings
from devstack.aws import ensure_resources
from devstack.demo_data import ACME, AREA, HELENA, order_body

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def repository(settings: Settings) -> PynamoOrderRepository:
    models = bind_models(settings.orders_table, settings.idempotency_table, settings.region, settings.aws_endpoint_url)
    create_tables(models)
    return PynamoOrderRepository(models, timedelta(hours=24))


def draft(key: str = "ord_" + "a" * 32) -> Order:
    request = parse_order_request(order_body(ACME.cnpj, HELENA.cpf, amount="1234.56"))
    return Order(key, request, OrderStatus.PROCESSING, NOW, NOW, idempotency_key="k1")


def met() -> OrderVerdict:
    """A company with one signer and one representative disabled, so every field of a verdict is stored."""
    signer = Participant(HELENA.cpf, ("A", "B"), Contact("Helena", "h@example.com", None), True, False, ())
    blocked = Participant("70000000159", ("A",), Contact(), False, True, (DisabledReason.AMOUNT_LIMIT,))
    party = PartyVerdict(
        Role.REQUESTER,
        PartyType.PJ,
        ACME.cnpj,
        True,
        None,
        (signer, blocked),
        ("R1",),
        ((HELENA.cpf,),),
        1,
        (HELENA.cpf,),
    )
    return OrderVerdict((party,))


def not_met(reason: PartyReason = PartyReason.NO_REPRESENTATIVES) -> OrderVerdict:
    return OrderVerdict((PartyVerdict(Role.REQUESTER, PartyType.PJ, ACME.cnpj, False, reason, ()),))


def test_a_draft_round_trips_with_decimal_money_and_utc_times(repository: PynamoOrderRepository) -> None:
    repository.add(draft(), None)
    stored = repository.get(draft().order_key)
    assert stored == draft()
    assert stored is not None and stored.request.amount == Decimal("1234.56")
    assert stored.created_at.tzinfo is not None
    assert repository.get("ord_" + "b" * 32) is None


def test_idempotency_claim_is_atomic_with_the_draft(repository: PynamoOrderRepository) -> None:
    claim = IdempotencyRecord("k1", "fp", draft().order_key)
    repository.add(draft(), claim)
    second = draft("ord_" + "c" * 32)
    with pytest.raises(IdempotencyKeyTaken):
        repository.add(second, IdempotencyRecord("k1", "fp2", second.order_key))
    assert repository.get(second.order_key) is None  # the losing draft was not written
    assert repository.find_idempotency("k1") == claim
    repository.release_idempotency("k1")
    assert repository.find_idempotency("k1") is None


def test_expired_idempotency_keys_count_as_free(settings: Settings) -> None:
    models = bind_models(settings.orders_table, settings.idempotency_table, settings.region, settings.aws_endpoint_url)
    create_tables(models)
    repository = PynamoOrderRepository(models, timedelta(seconds=-1))
    repository.add(draft(), IdempotencyRecord("k1", "fp", draft().order_key))
    assert repository.find_idempotency("k1") is None


def test_a_key_reused_after_its_ttl_before_dynamodb_deleted_it_is_a_new_key(
    repository: PynamoOrderRepository, settings: Settings
) -> None:
    """DynamoDB deletes expired items up to days late: until then the item is there, but the key is free."""
    models = bind_models(settings.orders_table, settings.idempotency_table, settings.region, settings.aws_endpoint_url)
    expired = datetime.now(UTC) - timedelta(hours=1)
    models.idempotency("k1", fingerprint="old", order_key="ord_" + "e" * 32, expires_at=expired).save()
    assert repository.find_idempotency("k1") is None
    claim = IdempotencyRecord("k1", "fp", draft().order_key)
    repository.add(draft(), claim)
    assert repository.find_idempotency("k1") == claim
    stored = models.idempotency.get("k1", consistent_read=True)
    assert stored.expires_at > datetime.now(UTC) + timedelta(hours=23)  # a fresh TTL, not the old one
    second = draft("ord_" + "c" * 32)
    with pytest.raises(IdempotencyKeyTaken):  # and the new claim is live: nobody takes it over
        repository.add(second, IdempotencyRecord("k1", "fp2", second.order_key))


def test_an_expired_key_reused_through_the_service_creates_a_new_order(settings: Settings) -> None:
    ensure_resources(settings, visibility_timeout=30)
    container = bootstrap.build_container(settings)
    models = bind_models(settings.orders_table, settings.idempotency_table, settings.region, settings.aws_endpoint_url)
    models.idempotency(
        f"{AREA}/reused-key",
        fingerprint="old",
        order_key="ord_" + "e" * 32,
        expires_at=datetime.now(UTC) - timedelta(days=2),
    ).save()
    command = CreateOrder(parse_order_request(order_body(ACME.cnpj, HELENA.cpf)), "reused-key")
    caller = Caller("demo-client", command.request.area_id, frozenset(Scope))
    accepted = container.orders.create(command, caller)
    assert not accepted.replayed and accepted.order_key != "ord_" + "e" * 32
    assert container.orders.create(command, caller) == replace(accepted, replayed=True)


def test_a_decision_is_recorded_once(repository: PynamoOrderRepository) -> None:
    repository.add(draft(), None)
    first = repository.record_decision(draft().order_key, met(), NOW)
    second = repository.record_decision(draft().order_key, not_met(), NOW)
    assert first.status is OrderStatus.QUORUM_MET and first.verdict == met() and first.reason is None
    assert second == first
    repository.mark_failed(draft().order_key, "PARTNER_UNAVAILABLE", "late", NOW)
    assert repository.get(draft().order_key) == first


def test_failed_is_final_until_an_operator_replay_reopens_it(repository: PynamoOrderRepository) -> None:
    repository.add(draft(), None)
    repository.mark_failed(draft().order_key, "PARTNER_UNAVAILABLE", "powers: HTTP 503", NOW)
    failed = repository.get(draft().order_key)
    assert failed is not None and (failed.status, failed.reason) == (OrderStatus.FAILED, "PARTNER_UNAVAILABLE")
    # a stale copy's decision does not land on a FAILED order, and the sweeper cannot re-queue it
    assert repository.record_decision(draft().order_key, not_met(), NOW) == failed
    assert repository.mark_requeued(draft().order_key, NOW) is False
    assert repository.reopen(draft().order_key, NOW + timedelta(hours=1)) is True
    reopened = repository.get(draft().order_key)
    assert reopened is not None and (reopened.status, reopened.reason, reopened.failure_detail) == (
        OrderStatus.PROCESSING,
        None,
        None,
    )
    assert reopened.enqueued_at == NOW + timedelta(hours=1)
    assert repository.reopen(draft().order_key, NOW) is False  # only a FAILED order re-opens
    decided = repository.record_decision(draft().order_key, not_met(), NOW)
    assert (decided.status, decided.reason, decided.failure_detail) == (
        OrderStatus.NO_QUORUM,
        "NO_REPRESENTATIVES",
        None,
    )


def test_receives_requeues_and_the_outbox_claim_are_recorded_while_they_apply(
    repository: PynamoOrderRepository,
) -> None:
    key = draft().order_key
    repository.add(draft(), None)
    repository.mark_received(key, NOW)
    repository.mark_received(key, NOW + timedelta(seconds=1))
    assert repository.mark_requeued(key, NOW + timedelta(seconds=2)) is True
    stored = repository.get(key)
    assert stored is not None
    assert (stored.receives, stored.received_at) == (2, NOW + timedelta(seconds=1))
    assert (stored.requeues, stored.enqueued_at) == (1, NOW + timedelta(seconds=2))
    assert stored.last_sign_of_life == NOW + timedelta(seconds=2)
    decided = repository.record_decision(key, not_met(), NOW + timedelta(seconds=3))
    repository.mark_received(key, NOW + timedelta(seconds=9))  # decided: no longer recorded
    assert repository.mark_requeued(key, NOW + timedelta(seconds=9)) is False
    repository.claim_outbox(key, NOW + timedelta(seconds=4))
    after = repository.get(key)
    assert after is not None and (after.receives, after.requeues) == (2, 1)
    assert after.outbox_claimed_at == NOW + timedelta(seconds=4) and decided.outbox_claimed_at is None


def test_outbox_marks_accumulate(repository: PynamoOrderRepository) -> None:
    repository.add(draft(), None)
    repository.mark_result_published(draft().order_key, NOW)
    repository.mark_notified(draft().order_key, ["1", "2"], NOW)
    repository.mark_notified(draft().order_key, ["2", "3"], NOW)
    stored = repository.get(draft().order_key)
    assert stored is not None and stored.result_published and stored.notified == {"1", "2", "3"}


def test_stuck_orders_are_found_through_the_status_index_oldest_first(repository: PynamoOrderRepository) -> None:
    # GIVEN two old undecided orders, one decided and one recent
    old, older, done, recent = (f"ord_{c * 32}" for c in "1234")
    for key, age in ((old, 10), (older, 20), (done, 30), (recent, 1)):
        repository.add(replace(draft(key), created_at=NOW - timedelta(minutes=age)), None)
    repository.record_decision(done, not_met(PartyReason.NO_RULE_SATISFIED), NOW)
    # WHEN the sweeper asks for orders processing for more than 5 minutes
    stuck = repository.stuck_in_processing(NOW - timedelta(minutes=5), limit=10)
    # THEN it gets the old undecided ones, oldest first
    assert stuck == [older, old]
    assert repository.stuck_in_processing(NOW - timedelta(minutes=5), limit=1) == [older]
