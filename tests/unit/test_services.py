from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.errors import PartnerUnavailable
from chalicelib.identity.model import Caller, Scope
from chalicelib.orders import services
from chalicelib.orders.errors import ForbiddenArea, IdempotencyConflict, OrderNotFound, OrderRejected, QueueUnavailable
from chalicelib.orders.model import IdempotencyRecord, Order, OrderStatus
from chalicelib.orders.requests import parse_order_request
from chalicelib.orders.wire import verdict_to_wire
from chalicelib.quorum.model import Contact, DisabledReason, OperatorAccess, PartyReason, Reservation
from tests.unit import fakes
from tests.unit.builders import cnpj, cpf, grant, group, person, rep, rule

CO = cnpj(1)
OK = OperatorAccess(True, True)


def body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "area_id": "AREA-CREDIT",
        "product": "CCB",
        "power_code": "SIGN_CREDIT",
        "platform": "BANKLINE",
        "signature_method": "DIGITAL",
        "amount": "1000.00",
        "requester": {"document": CO},
        "guarantors": [],
    }
    return {**base, **overrides}


class World:
    """The ports wired together, the way bootstrap wires the real ones."""

    def __init__(self, **partner_kwargs: Any) -> None:
        self.partners = fakes.partners(**partner_kwargs)
        self.repository = fakes.FakeRepository()
        self.queue = fakes.FakeQueue()
        self.publisher = fakes.FakePublisher()
        self.clock = fakes.FixedClock()
        keys = iter(f"ord_{n:032x}" for n in range(1, 1000))
        self.sleeps: list[float] = []
        """The idempotency back-off pauses asked for (none is slept: jitter answers the step's ceiling)."""
        self.service = services.OrderService(
            partners=self.partners,
            repository=self.repository,
            queue=self.queue,
            publisher=self.publisher,
            executor=fakes.InlineExecutor(),
            region_switch=fakes.FakeSwitch(),
            clock=self.clock,
            new_order_key=lambda: next(keys),
            sleep=self.sleeps.append,
            jitter=lambda low, high: high,
        )

    def create(self, raw: dict[str, Any], key: str | None = None, caller: Caller | None = None) -> services.Accepted:
        """As the area the body names, unless `caller` says otherwise."""
        caller = caller or area_system(raw["area_id"])
        return self.service.create(services.CreateOrder(parse_order_request(raw), key), caller)

    def get(self, order_key: str, area_id: str = "AREA-CREDIT") -> Order:
        return self.service.get(order_key, area_system(area_id))

    def assemble(
        self, order_key: str, attempt: int = 1, max_attempts: int = 3, reopen: bool = False, receipt: str | None = None
    ) -> Order:
        return self.service.assemble(services.AssembleEnvelope(order_key, attempt, max_attempts, reopen, receipt))


def area_system(area_id: str) -> Caller:
    return Caller(f"client-of-{area_id}", area_id, frozenset(Scope))


def draft_of(raw: dict[str, Any], order_key: str) -> Order:
    """The draft another request stored for `raw` (a concurrent winner's order, visible)."""
    now = fakes.FixedClock()()
    return Order(order_key, parse_order_request(raw), OrderStatus.PROCESSING, now, now)


def two_directors() -> World:
    g = grant([rep(1, "D"), rep(2, "D"), rep(3, "D")], [rule("TWO", group("D", 2))])
    contacts = {cpf(n): Contact(f"P{n}", f"p{n}@x.com", None) for n in (1, 2, 3)}
    return World(grants={CO: g}, contacts=contacts, accesses={(CO, cpf(1)): OK, (CO, cpf(2)): OK})


def test_accepting_an_order_stores_a_draft_and_queues_it() -> None:
    world = two_directors()
    accepted = world.create(body())
    order = world.repository.orders[accepted.order_key]
    assert order.status is OrderStatus.PROCESSING and order.quorum is None
    assert world.queue.sent == [accepted.order_key]


@pytest.mark.parametrize(
    ("change", "area_overrides", "code"),
    [
        ({"area_id": "NOPE"}, {}, "AREA_NOT_FOUND"),
        ({}, {"active": False}, "AREA_INACTIVE"),
        ({"platform": "MOBILE"}, {}, "PLATFORM_NOT_ALLOWED"),
        ({"signature_method": "PHYSICAL"}, {}, "SIGNATURE_METHOD_NOT_ALLOWED"),
        ({"amount": "5000000.01"}, {}, "AMOUNT_ABOVE_LIMIT"),
        ({"product": "OLD"}, {}, "UNKNOWN_PRODUCT"),
        ({"product": "MISSING"}, {}, "UNKNOWN_PRODUCT"),
        ({"power_code": "SIGN_ALL"}, {}, "UNKNOWN_POWER"),
    ],
)
def test_parametrizer_and_domain_rules_reject_before_anything_is_stored(
    change: dict[str, Any], area_overrides: dict[str, Any], code: str
) -> None:
    world = World(parametrizer=fakes.FakeParametrizer({"AREA-CREDIT": fakes.area(**area_overrides)}))
    with pytest.raises(OrderRejected) as error:
        world.create(body(**change))
    assert error.value.code == code
    assert world.repository.orders == {} and world.queue.sent == []


def test_amount_exactly_at_the_area_limit_is_accepted() -> None:
    world = World()
    world.create(body(amount=str(Decimal("5000000.00"))))
    assert len(world.queue.sent) == 1


def test_partner_outage_on_post_stores_nothing() -> None:
    world = World(parametrizer=fakes.FakeParametrizer({}, down=True))
    with pytest.raises(PartnerUnavailable):
        world.create(body())
    assert world.repository.orders == {}


def test_same_idempotency_key_and_body_returns_the_same_order_once() -> None:
    world = World()
    first = world.create(body(), key="k-1")
    again = world.create(
        {**body(), "requester": {"document": f"{CO[:2]}.{CO[2:5]}.{CO[5:8]}/{CO[8:12]}-{CO[12:]}"}}, key="k-1"
    )
    assert (again.order_key, again.replayed, first.replayed) == (first.order_key, True, False)
    assert world.queue.sent == [first.order_key]
    assert len(world.repository.orders) == 1


def test_same_idempotency_key_with_a_different_body_conflicts() -> None:
    world = World()
    world.create(body(), key="k-1")
    with pytest.raises(IdempotencyConflict):
        world.create(body(amount="2000.00"), key="k-1")


def test_losing_an_idempotency_race_returns_the_winner() -> None:
    world = World()
    winner = services.fingerprint(parse_order_request(body()))
    world.repository.claim_race = IdempotencyRecord("AREA-CREDIT/k-1", winner, "ord_" + "f" * 32)
    world.repository.orders["ord_" + "f" * 32] = draft_of(body(), "ord_" + "f" * 32)
    accepted = world.create(body(), key="k-1")
    assert (accepted.order_key, accepted.replayed) == ("ord_" + "f" * 32, True)
    assert world.queue.sent == []


def test_an_area_system_creates_orders_only_for_its_own_area() -> None:
    world = World()
    with pytest.raises(ForbiddenArea) as refused:
        world.create(body(area_id="AREA-CREDIT"), caller=area_system("AREA-CONSORTIUM"))
    assert (refused.value.code, refused.value.field) == ("FORBIDDEN_AREA", "area_id")
    assert world.repository.orders == {} and world.queue.sent == []


def test_another_areas_order_is_not_found_exactly_like_a_missing_one() -> None:
    world = World()
    key = world.create(body()).order_key
    assert world.get(key).order_key == key
    with pytest.raises(OrderNotFound) as other_area:
        world.get(key, area_id="AREA-CONSORTIUM")
    with pytest.raises(OrderNotFound) as missing:
        world.get("ord_" + "0" * 32, area_id="AREA-CONSORTIUM")
    assert other_area.value.code == missing.value.code == "ORDER_NOT_FOUND"


def test_idempotency_keys_belong_to_one_area() -> None:
    """The same key from another area neither replays nor conflicts with the first area's order."""
    world = World(parametrizer=fakes.FakeParametrizer({"AREA-CREDIT": fakes.area(), "AREA-CONSORTIUM": fakes.area()}))
    first = world.create(body(), key="k-1")
    other = world.create(body(area_id="AREA-CONSORTIUM", amount="2000.00"), key="k-1")
    assert not other.replayed and other.order_key != first.order_key
    assert world.create(body(), key="k-1").order_key == first.order_key


def test_queue_outage_fails_the_draft_and_frees_the_key_for_a_retry() -> None:
    world = World()
    world.queue.down = True
    with pytest.raises(QueueUnavailable):
        world.create(body(), key="k-1")
    (failed,) = world.repository.orders.values()
    assert (failed.status, failed.reason) == (OrderStatus.FAILED, "QUEUE_UNAVAILABLE")
    world.queue.down = False
    retry = world.create(body(), key="k-1")
    assert retry.order_key != failed.order_key and world.queue.sent == [retry.order_key]


def test_assembly_decides_publishes_and_notifies_each_signer_once() -> None:
    world = two_directors()
    key = world.create(body()).order_key
    order = world.assemble(key)
    assert (order.status, order.quorum) == (OrderStatus.QUORUM_MET, True)
    assert [m["quorum"] for _, m in world.publisher.results] == [True]
    assert sorted(m["cpf"] for _, m in world.publisher.notifications) == [cpf(1), cpf(2)]
    assert {d for d, _ in world.publisher.notifications} == {f"{key}:{cpf(1)}", f"{key}:{cpf(2)}"}


def test_people_are_fetched_for_everyone_but_operators_only_for_unreserved() -> None:
    g = grant([rep(1, "D"), rep(2, "D", Reservation("COURT_ORDER"))], [rule("ONE", group("D"))])
    world = World(grants={CO: g}, accesses={(CO, cpf(1)): OK})
    world.assemble(world.create(body()).order_key)
    assert sorted(world.partners.people.looked_up) == [cpf(1), cpf(2)]  # type: ignore[attr-defined]
    assert world.partners.operators.checked == [(CO, cpf(1), "BANKLINE")]  # type: ignore[attr-defined]


def test_representatives_no_applicable_rule_uses_are_not_looked_up_and_cannot_sign() -> None:
    """C is only in group X, which only a rule whose ceiling the order exceeds names; E is in no rule's group."""
    g = grant(
        [rep(1, "D"), rep(2, "D"), rep(3, "X"), rep(4, "CFO"), rep(5, "AUDIT")],
        [rule("TWO", group("D", 2)), rule("SMALL", group("X"), max_amount="500.00"), rule("NAMED", person(4))],
    )
    contacts = {cpf(n): Contact(f"P{n}", f"p{n}@x.com", None) for n in range(1, 6)}
    accesses = {(CO, cpf(n)): OK for n in range(1, 6)}
    world = World(grants={CO: g}, contacts=contacts, accesses=accesses)
    order = world.assemble(world.create(body(amount="1000.00")).order_key)
    assert sorted(world.partners.people.looked_up) == [cpf(1), cpf(2), cpf(4)]  # type: ignore[attr-defined]
    checked = sorted(c for _, c, _ in world.partners.operators.checked)  # type: ignore[attr-defined]
    assert checked == [cpf(1), cpf(2), cpf(4)]
    assert order.verdict is not None
    party = order.verdict.parties[0]
    by_cpf = {p.cpf: p for p in party.participants}
    assert set(by_cpf) == {cpf(n) for n in range(1, 6)}, "everyone is still listed"
    for n in (3, 5):
        assert not by_cpf[cpf(n)].enabled
        assert by_cpf[cpf(n)].disabled_reasons == (DisabledReason.NOT_IN_APPLICABLE_RULE,)
        assert by_cpf[cpf(n)].contact == Contact()
    assert party.quorum and by_cpf[cpf(1)].contact == contacts[cpf(1)]
    notified = sorted(m["cpf"] for _, m in world.publisher.notifications)
    assert notified == [cpf(1), cpf(2), cpf(4)] and cpf(3) not in party.signers


def test_a_person_unused_for_one_company_but_signing_for_another_is_notified_with_their_contact() -> None:
    other = cnpj(2)
    grants = {
        CO: grant([rep(1, "D"), rep(9, "AUDIT")], [rule("ONE", group("D"))]),
        other: grant([rep(9, "D")], [rule("ONE", group("D"))]),
    }
    contacts = {cpf(n): Contact(f"P{n}", f"p{n}@x.com", None) for n in (1, 9)}
    accesses = {(CO, cpf(1)): OK, (other, cpf(9)): OK}
    world = World(grants=grants, contacts=contacts, accesses=accesses)
    raw = body(guarantors=[{"document": other}])
    order = world.assemble(world.create(raw).order_key)
    assert order.quorum
    notices = {m["cpf"]: m for _, m in world.publisher.notifications}
    assert set(notices) == {cpf(1), cpf(9)}
    assert {n.cpf: n.contact for n in order.signer_notices()}[cpf(9)] == contacts[cpf(9)]


def test_nobody_in_an_applicable_rule_is_no_rule_satisfied_without_any_lookup() -> None:
    g = grant([rep(1, "AUDIT"), rep(2, "AUDIT")], [rule("TWO", group("D", 2))])
    world = World(grants={CO: g}, accesses={(CO, cpf(1)): OK, (CO, cpf(2)): OK})
    order = world.assemble(world.create(body()).order_key)
    assert order.verdict is not None and order.verdict.parties[0].reason == PartyReason.NO_RULE_SATISFIED
    assert world.partners.people.looked_up == [] and world.partners.operators.checked == []  # type: ignore[attr-defined]


def test_redelivery_of_a_decided_order_changes_and_sends_nothing() -> None:
    world = two_directors()
    key = world.create(body()).order_key
    world.assemble(key)
    stored = world.repository.orders[key]
    world.assemble(key, attempt=2)
    assert world.repository.orders[key] == stored
    assert len(world.publisher.results) == 1 and len(world.publisher.notifications) == 2
    assert world.partners.powers.calls == 1  # type: ignore[attr-defined]


def test_redelivery_after_a_crash_mid_outbox_sends_only_what_was_missing() -> None:
    world = two_directors()
    key = world.create(body()).order_key
    world.publisher.fail_notifications = True
    with pytest.raises(RuntimeError):
        world.assemble(key)
    world.publisher.fail_notifications = False
    world.assemble(key, attempt=2)
    assert len(world.publisher.results) == 1
    assert len(world.publisher.notifications) == 2


def test_no_quorum_publishes_the_result_and_notifies_nobody() -> None:
    world = World(grants={}, accesses={})
    key = world.create(body()).order_key
    order = world.assemble(key)
    assert (order.status, order.reason) == (OrderStatus.NO_QUORUM, "NO_REPRESENTATIVES")
    assert world.publisher.results[0][1]["reason"] == "NO_REPRESENTATIVES"
    assert world.publisher.notifications == []


def test_partner_failure_is_retried_and_only_the_last_attempt_marks_failed() -> None:
    world = World(powers_failures=5)
    key = world.create(body()).order_key
    with pytest.raises(PartnerUnavailable):
        world.assemble(key, attempt=1, max_attempts=2)
    assert world.repository.orders[key].status is OrderStatus.PROCESSING
    with pytest.raises(PartnerUnavailable):
        world.assemble(key, attempt=2, max_attempts=2)
    failed = world.repository.orders[key]
    assert (failed.status, failed.reason) == (OrderStatus.FAILED, "PARTNER_UNAVAILABLE")
    assert "powers" in (failed.failure_detail or "")
    assert world.publisher.results == []


def test_a_failed_order_replayed_from_the_dlq_is_decided() -> None:
    world = World(powers_failures=1)
    key = world.create(body()).order_key
    with pytest.raises(PartnerUnavailable):
        world.assemble(key, attempt=1, max_attempts=1)
    order = world.assemble(key, attempt=1, max_attempts=1, reopen=True)
    assert order.status is OrderStatus.NO_QUORUM and order.failure_detail is None and order.reason
    assert [m["reason"] for _, m in world.publisher.results] == ["NO_REPRESENTATIVES"]


def test_failed_is_final_for_any_copy_but_an_operator_replay() -> None:
    # GIVEN an order FAILED on its last attempt
    world = World(powers_failures=1)
    key = world.create(body()).order_key
    with pytest.raises(PartnerUnavailable):
        world.assemble(key, attempt=1, max_attempts=1)
    failed = world.repository.orders[key]
    # WHEN a stale copy (a sweeper's, a redelivery) arrives later, partners healthy again
    order = world.assemble(key, attempt=1, max_attempts=3)
    # THEN nothing changes and nothing is published
    assert order == failed == world.repository.orders[key]
    assert world.publisher.results == [] and world.partners.powers.calls == 1  # type: ignore[attr-defined]


def test_outbox_claims_before_sending_and_asks_for_a_prompt_retry() -> None:
    world = two_directors()
    key = world.create(body()).order_key
    world.clock.advance(timedelta(seconds=5))
    order = world.assemble(key, receipt="rh-1")
    assert order.result_published is False  # the returned order is the decided one; the store has the rest
    stored = world.repository.orders[key]
    assert stored.decided_at is not None and stored.outbox_claimed_at is not None
    assert stored.decided_at <= stored.outbox_claimed_at
    assert stored.result_published and stored.notified == {cpf(1), cpf(2)}
    assert world.queue.hastened == [("rh-1", 30)]


def crashed_after_sending(world: World, key: str) -> None:
    """The first attempt sends everything, then dies before confirming any of it."""
    world.repository.mark_result_published = lambda *a: (_ for _ in ()).throw(SystemExit)  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        world.assemble(key)
    del world.repository.mark_result_published
    assert len(world.publisher.results) == 1 and world.repository.orders[key].outbox_claimed_at is not None


def test_a_retry_inside_the_window_resends_under_the_same_claim_with_the_same_ids() -> None:
    world = two_directors()
    key = world.create(body()).order_key
    crashed_after_sending(world, key)
    claim = world.repository.orders[key].outbox_claimed_at
    world.clock.advance(timedelta(seconds=30))
    world.assemble(key, attempt=2)
    # the same dedup ids inside the window: SQS FIFO drops the repeats
    assert [d for d, _ in world.publisher.results] == [key, key]
    assert world.repository.orders[key].outbox_claimed_at == claim
    assert world.repository.orders[key].result_published


def test_a_claim_older_than_the_window_is_claimed_afresh_and_resent_with_the_stable_dedup_id() -> None:
    world = two_directors()
    key = world.create(body()).order_key
    crashed_after_sending(world, key)
    old = world.repository.orders[key].outbox_claimed_at
    assert old is not None
    world.clock.advance(timedelta(seconds=241))
    world.assemble(key, attempt=2)
    fresh = world.repository.orders[key].outbox_claimed_at
    assert fresh is not None and fresh - old >= timedelta(seconds=241)
    assert [m["dedup_id"] for _, m in world.publisher.results] == [key, key]  # consumers drop the repeat


def test_an_attempt_past_its_window_stops_sending() -> None:
    world = two_directors()
    key = world.create(body()).order_key
    publish = world.publisher.publish_result

    def slow(order: Order) -> None:
        publish(order)
        world.clock.advance(timedelta(seconds=300))

    world.publisher.publish_result = slow  # type: ignore[method-assign]
    with pytest.raises(services.OutboxClaimExpired):
        world.assemble(key)
    assert world.publisher.notifications == [] and world.repository.orders[key].result_published


def test_assembling_an_unknown_order_fails_loudly_for_the_dlq() -> None:
    with pytest.raises(OrderNotFound):
        World().assemble("ord_" + "0" * 32)


def test_guarantors_are_evaluated_and_the_first_failing_party_names_the_reason() -> None:
    world = two_directors()
    key = world.create(body(guarantors=[{"document": cpf(9)}])).order_key
    order = world.assemble(key)
    assert (order.status, order.reason) == (OrderStatus.NO_QUORUM, "NO_ACTIVE_OPERATOR")
    assert [p["role"] for p in verdict_to_wire(order.verdict)] == ["REQUESTER", "GUARANTOR"]
    assert [p["quorum"] for p in verdict_to_wire(order.verdict)] == [True, False]


def sweep(
    world: World, switch: fakes.FakeSwitch | None = None, serving: str | None = "us-west-2", minutes: int = 5
) -> services.SweepResult:
    command = services.SweepStuckOrders(region="us-west-2", older_than=timedelta(minutes=minutes))
    sweeper = dataclasses.replace(
        world.service, region_switch=switch or fakes.FakeSwitch(), traffic_probe=fakes.FakeProbe(serving)
    )
    return sweeper.sweep(command)


def test_the_sweeper_leaves_an_order_whose_request_was_received_recently() -> None:
    # GIVEN an old order whose request a worker received (and failed) 2 minutes ago
    world = World(powers_failures=1)
    key = world.create(body()).order_key
    world.clock.advance(timedelta(minutes=8))
    with pytest.raises(PartnerUnavailable):
        world.assemble(key, attempt=1, max_attempts=3)
    world.clock.advance(timedelta(minutes=2))
    world.queue.sent.clear()
    # THEN it may still come back: not stranded
    result = sweep(world)
    assert result.requeued == () and result.skipped == 1 and world.queue.sent == []


def test_the_sweeper_requeues_nothing_while_requests_wait_on_the_queue() -> None:
    # GIVEN an old order never received, and requests waiting on the queue (workers down, a backlog)
    world = two_directors()
    key = world.create(body()).order_key
    world.clock.advance(timedelta(hours=1))
    world.queue.sent.clear()
    world.queue.backlog = 40
    # THEN its request may be among them: left alone until the queue is drained
    assert sweep(world) == services.SweepResult(active=True, skipped=1)
    world.queue.backlog = 0
    assert sweep(world).requeued == (key,)


def test_the_sweeper_backs_off_per_order_and_caps_each_run() -> None:
    world = two_directors()
    keys = [world.create(body()).order_key for _ in range(3)]
    world.clock.advance(timedelta(minutes=6))
    world.queue.sent.clear()
    capped = dataclasses.replace(world.service, traffic_probe=fakes.FakeProbe("us-west-2"))
    first = capped.sweep(services.SweepStuckOrders("us-west-2", timedelta(minutes=5), max_rescues=2))
    assert first.requeued == tuple(keys[:2]) and first.skipped == 1
    # 6 minutes later: the third (never re-queued) is due, the two re-queued wait twice as long
    world.clock.advance(timedelta(minutes=6))
    assert sweep(world).requeued == (keys[2],)
    world.clock.advance(timedelta(minutes=5))
    assert sweep(world).requeued == tuple(keys[:2])
    assert world.repository.orders[keys[0]].requeues == 2


def test_the_sweeper_requeues_only_orders_processing_longer_than_the_cutoff() -> None:
    # GIVEN an order decided, an old one stuck and a fresh one still processing
    world = two_directors()
    decided = world.create(body()).order_key
    world.assemble(decided)
    stuck = world.create(body()).order_key
    world.clock.advance(timedelta(minutes=4))
    fresh = world.create(body()).order_key
    world.clock.advance(timedelta(minutes=2))
    world.queue.sent.clear()
    # WHEN the sweeper runs with a 5-minute cutoff
    result = sweep(world)
    # THEN only the stuck order is queued again
    assert result.requeued == (stuck,) and world.queue.sent == [stuck]
    assert fresh not in world.queue.sent


def test_a_region_held_out_of_service_sweeps_nothing() -> None:
    world = two_directors()
    world.create(body())
    world.clock.advance(timedelta(hours=1))
    world.queue.sent.clear()
    assert sweep(world, fakes.FakeSwitch(in_service=False)) == services.SweepResult(active=False)
    assert world.queue.sent == []


@pytest.mark.parametrize("serving", ["us-east-1", None])
def test_a_region_the_public_name_is_not_serving_sweeps_nothing(serving: str | None) -> None:
    # GIVEN a stuck order and traffic going to the other region (or nobody answering)
    world = two_directors()
    world.create(body())
    world.clock.advance(timedelta(hours=1))
    world.queue.sent.clear()
    # THEN this region leaves it alone: the serving region owns the sweeping
    assert sweep(world, serving=serving) == services.SweepResult(active=False)
    assert world.queue.sent == []


def test_a_swept_order_delivered_twice_is_decided_and_announced_once() -> None:
    # GIVEN an order whose first request is stranded and a sweeper that queues it again
    world = two_directors()
    key = world.create(body()).order_key
    world.clock.advance(timedelta(minutes=10))
    assert sweep(world).requeued == (key,)
    # WHEN the sweeper's copy and, later, the stranded original are both processed
    first = world.assemble(key, attempt=1)
    second = world.assemble(key, attempt=1)
    # THEN one decision, one result, one notification per signer
    assert first.status is second.status is OrderStatus.QUORUM_MET
    assert first.decided_at == second.decided_at
    assert len(world.publisher.results) == 1
    assert sorted(d for d, _ in world.publisher.notifications) == [f"{key}:{cpf(1)}", f"{key}:{cpf(2)}"]
