"""Claim checks: which verdicts leave the item and the message, and that they come back whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chalicelib.adapters.sqs import SqsEnvelopePublisher
from chalicelib.documents import Cnpj
from chalicelib.orders.claim_check import (
    ITEM_INLINE_LIMIT,
    MESSAGE_INLINE_LIMIT,
    ClaimCheck,
    ClaimCheckError,
    decode_parties,
    encode_parties,
    exceeds,
    object_key,
)
from chalicelib.orders.model import Order, OrderRequest, OrderStatus, PartyRef
from chalicelib.orders.wire import verdict_from_wire, verdict_to_wire
from chalicelib.quorum.model import Contact, OrderVerdict, Participant, PartyType, PartyVerdict, Role
from tests.unit.builders import cnpj, cpf
from tests.unit.fakes import FakeClaimCheckStore

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def verdict_of(representatives: int) -> OrderVerdict:
    """A company whose every representative is listed, with contact data as long as real ones."""
    people = tuple(
        Participant(
            cpf=cpf(n),
            groups=("DIRECTORS",),
            contact=Contact(f"Representative Number {n:05d}", f"rep{n:05d}@company.example.com", "+5511999990000"),
            enabled=True,
            reservation=False,
            disabled_reasons=(),
        )
        for n in range(1, representatives + 1)
    )
    signers = tuple(p.cpf for p in people[:2])
    party = PartyVerdict(Role.REQUESTER, PartyType.PJ, cnpj(1), True, None, people, ("R1",), (signers,), 1, signers)
    return OrderVerdict((party,))


def order_of(verdict: OrderVerdict, key: str = "ord_big") -> Order:
    request = OrderRequest(
        "AREA-CREDIT", "CCB", "SIGN_CREDIT", "BANKLINE", "DIGITAL", Decimal("1000.00"),
        PartyRef(Role.REQUESTER, Cnpj(cnpj(1))),
    )  # fmt: skip
    return Order(key, request, OrderStatus.of(verdict), AT, AT, verdict=verdict, decided_at=AT)


def publisher(store: FakeClaimCheckStore | None) -> SqsEnvelopePublisher:
    return SqsEnvelopePublisher(client=None, results=None, notifications=None, claim_checks=store)  # type: ignore[arg-type]


def test_the_limits_leave_room_under_dynamodb_and_sqs() -> None:
    assert ITEM_INLINE_LIMIT <= 400_000 * 3 // 4  # the rest of the item (request, notified CPFs) fits beside it
    assert MESSAGE_INLINE_LIMIT <= 256 * 1024 * 4 // 5


def test_a_small_result_is_sent_whole_with_a_null_claim_check() -> None:
    store = FakeClaimCheckStore()
    body = publisher(store).result_body(order_of(verdict_of(10)))
    assert body["claim_check"] is None
    assert len(body["parties"][0]["participants"]) == 10
    assert store.puts == 0


def test_a_2000_representative_result_goes_by_claim_check_and_comes_back_whole() -> None:
    # GIVEN a decided company of 2,000 representatives: too large for a message and for an item
    store = FakeClaimCheckStore()
    verdict = verdict_of(2000)
    assert exceeds(verdict_to_wire(verdict), ITEM_INLINE_LIMIT)
    # WHEN its result is published
    body = publisher(store).result_body(order_of(verdict))
    # THEN the message is small, carries no parties, and names an object holding every participant
    assert len(json.dumps(body).encode()) < 1024
    assert "parties" not in body
    ref = ClaimCheck.from_wire(body["claim_check"])
    assert ref.bucket == "claim-check-test" and ref.key.startswith("orders/ord_big/parties-")
    assert verdict_from_wire(decode_parties(store.get(ref))) == verdict
    assert body["order_key"] == "ord_big" and body["quorum"] is True


def test_a_redelivered_result_writes_the_same_object() -> None:
    store = FakeClaimCheckStore()
    order = order_of(verdict_of(1500))
    first, second = publisher(store).result_body(order), publisher(store).result_body(order)
    assert first == second and store.puts == 2 and len(store.objects) == 1


def test_without_a_store_a_large_result_fails_rather_than_being_cut() -> None:
    with pytest.raises(ClaimCheckError):
        publisher(None).result_body(order_of(verdict_of(1500)))


def test_the_object_key_follows_the_order_and_the_content() -> None:
    a, b = encode_parties(verdict_to_wire(verdict_of(3))), encode_parties(verdict_to_wire(verdict_of(4)))
    assert object_key("ord_1", a) == object_key("ord_1", a)
    assert object_key("ord_1", a) != object_key("ord_1", b)
    assert object_key("ord_1", a) != object_key("ord_2", a)


def test_an_object_that_differs_from_its_reference_is_refused() -> None:
    store = FakeClaimCheckStore()
    ref = store.put("ord_1", b"[]")
    store.objects[ref.key] = b"[{}]"
    with pytest.raises(ClaimCheckError):
        store.get(ref)
    with pytest.raises(ClaimCheckError):
        store.get(ClaimCheck(ref.bucket, "orders/ord_1/missing.json", ref.sha256, ref.size))
    with pytest.raises(ClaimCheckError):
        decode_parties(b"{}")
