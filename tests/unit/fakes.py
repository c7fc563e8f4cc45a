"""In-memory fakes that subclass the real ports, so they break when a port changes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from chalicelib.errors import PartnerUnavailable
from chalicelib.health import Dependency, DependencyDown
from chalicelib.orders.claim_check import ClaimCheck, ClaimCheckError, object_key
from chalicelib.orders.errors import IdempotencyKeyTaken, QueueUnavailable
from chalicelib.orders.model import AreaSettings, DomainEntry, IdempotencyRecord, Order, OrderStatus, SignerNotice
from chalicelib.orders.ports import (
    ClaimCheckStore,
    DomainCatalog,
    EnvelopePublisher,
    EnvelopeQueue,
    OperatorRegistry,
    OrderRepository,
    Parametrizer,
    Partners,
    PeopleDirectory,
    PowersDirectory,
    RegionSwitch,
    TrafficProbe,
)
from chalicelib.orders.wire import notice_to_wire, result_message
from chalicelib.quorum.model import Contact, OperatorAccess, OrderVerdict, PowerGrant

T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs submitted calls immediately: deterministic tests, same Future contract."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


class FakeParametrizer(Parametrizer):
    def __init__(self, areas: dict[str, AreaSettings], down: bool = False) -> None:
        self.areas = areas
        self.down = down

    def area(self, area_id: str) -> AreaSettings | None:
        if self.down:
            raise PartnerUnavailable("parametrizer", "HTTP 503")
        return self.areas.get(area_id)


class FakeDomains(DomainCatalog):
    def __init__(self, entries: dict[tuple[str, str], bool]) -> None:
        self.entries = entries

    def entry(self, domain: str, key: str) -> DomainEntry | None:
        active = self.entries.get((domain, key))
        return None if active is None else DomainEntry(domain, key, key.title(), active)


class FakePowers(PowersDirectory):
    def __init__(self, grants: dict[str, PowerGrant], failures: int = 0) -> None:
        self.grants = grants
        self.failures = failures
        self.calls = 0

    def grant(self, cnpj: str, power_code: str) -> PowerGrant | None:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise PartnerUnavailable("powers", "HTTP 503")
        return self.grants.get(cnpj)


class FakePeople(PeopleDirectory):
    def __init__(self, contacts: dict[str, Contact]) -> None:
        self.contacts = contacts
        self.looked_up: list[str] = []

    def contact(self, cpf: str) -> Contact | None:
        self.looked_up.append(cpf)
        return self.contacts.get(cpf)


class FakeOperators(OperatorRegistry):
    def __init__(self, accesses: dict[tuple[str, str], OperatorAccess]) -> None:
        self.accesses = accesses
        self.checked: list[tuple[str, str, str]] = []

    def access(self, holder: str, cpf: str, platform: str) -> OperatorAccess | None:
        self.checked.append((holder, cpf, platform))
        return self.accesses.get((holder, cpf))


class FakeRepository(OrderRepository):
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.keys: dict[str, IdempotencyRecord] = {}
        self.claim_race: IdempotencyRecord | None = None
        """When set, the next add() finds this record already claimed (a concurrent request won)."""

    def add(self, order: Order, idempotency: IdempotencyRecord | None) -> None:
        if self.claim_race is not None:
            self.keys[self.claim_race.key], self.claim_race = self.claim_race, None
            raise IdempotencyKeyTaken(order.order_key)
        assert order.order_key not in self.orders
        self.orders[order.order_key] = order
        if idempotency is not None:
            self.keys[idempotency.key] = idempotency

    def get(self, order_key: str) -> Order | None:
        return self.orders.get(order_key)

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        return self.keys.get(key)

    def release_idempotency(self, key: str) -> None:
        self.keys.pop(key, None)

    def record_decision(self, order_key: str, verdict: OrderVerdict, at: datetime) -> Order:
        order = self.orders[order_key]
        if order.status is not OrderStatus.PROCESSING:
            return order
        order = replace(
            order,
            status=OrderStatus.of(verdict),
            verdict=verdict,
            reason=verdict.reason.value if verdict.reason else None,
            decided_at=at,
            updated_at=at,
            failure_detail=None,
        )
        self.orders[order_key] = order
        return order

    def mark_failed(self, order_key: str, reason: str, detail: str, at: datetime) -> None:
        order = self.orders[order_key]
        if order.status is OrderStatus.PROCESSING:
            self.orders[order_key] = replace(
                order, status=OrderStatus.FAILED, reason=reason, failure_detail=detail, updated_at=at
            )

    def reopen(self, order_key: str, at: datetime) -> bool:
        order = self.orders[order_key]
        if order.status is not OrderStatus.FAILED:
            return False
        self.orders[order_key] = replace(
            order,
            status=OrderStatus.PROCESSING,
            reason=None,
            failure_detail=None,
            updated_at=at,
            received_at=None,
            receives=0,
            enqueued_at=at,
        )
        return True

    def mark_received(self, order_key: str, at: datetime) -> None:
        order = self.orders[order_key]
        if order.status is OrderStatus.PROCESSING:
            self.orders[order_key] = replace(order, received_at=at, receives=order.receives + 1)

    def mark_requeued(self, order_key: str, at: datetime) -> bool:
        order = self.orders[order_key]
        if order.status is not OrderStatus.PROCESSING:
            return False
        self.orders[order_key] = replace(order, enqueued_at=at, requeues=order.requeues + 1)
        return True

    def claim_outbox(self, order_key: str, at: datetime) -> None:
        self.orders[order_key] = replace(self.orders[order_key], outbox_claimed_at=at)

    def mark_result_published(self, order_key: str, at: datetime) -> None:
        self.orders[order_key] = replace(self.orders[order_key], result_published=True, updated_at=at)

    def mark_notified(self, order_key: str, cpfs: Iterable[str], at: datetime) -> None:
        order = self.orders[order_key]
        self.orders[order_key] = replace(order, notified=order.notified | set(cpfs), updated_at=at)

    def stuck_in_processing(self, created_before: datetime, limit: int) -> list[str]:
        stuck = [
            o for o in self.orders.values() if o.status is OrderStatus.PROCESSING and o.created_at < created_before
        ]
        return [o.order_key for o in sorted(stuck, key=lambda o: o.created_at)][:limit]


class FakeProbe(TrafficProbe):
    def __init__(self, serving: str | None) -> None:
        self.serving = serving

    def serving_region(self) -> str | None:
        return self.serving


class FakeDependency(Dependency):
    """A dependency `/v1/health` probes: answers, fails with `down`, or takes `delay` seconds."""

    def __init__(self, name: str, down: str | None = None, delay: float = 0.0) -> None:
        self.name = name
        self.down = down
        self.delay = delay
        self.calls = 0

    def check(self) -> None:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        if self.down is not None:
            raise DependencyDown(self.down)


class FakeSwitch(RegionSwitch):
    def __init__(self, in_service: bool = True) -> None:
        self.serving = in_service

    def in_service(self) -> bool:
        return self.serving


class FakeQueue(EnvelopeQueue):
    def __init__(self, down: bool = False) -> None:
        self.sent: list[str] = []
        self.down = down
        self.hastened: list[tuple[str, int]] = []
        self.backlog: int | None = None

    def enqueue(self, order_key: str) -> None:
        if self.down:
            raise QueueUnavailable("queue down")
        self.sent.append(order_key)

    def waiting(self) -> int | None:
        return self.backlog

    def redeliver_within(self, receipt_handle: str, seconds: int) -> None:
        self.hastened.append((receipt_handle, seconds))


class FakePublisher(EnvelopePublisher):
    """Keeps (dedup id, message) pairs as the queues would carry them."""

    def __init__(self) -> None:
        self.results: list[tuple[str, dict[str, Any]]] = []
        self.notifications: list[tuple[str, dict[str, Any]]] = []
        self.fail_notifications = False

    def publish_result(self, order: Order) -> None:
        self.results.append((order.order_key, result_message(order)))

    def notify_signers(self, notices: Sequence[SignerNotice]) -> None:
        if self.fail_notifications:
            raise RuntimeError("notifications queue down")
        self.notifications.extend((notice.dedup_id, notice_to_wire(notice)) for notice in notices)


class FakeClaimCheckStore(ClaimCheckStore):
    """A bucket in a dict; counts puts so tests see a redelivery write the same object."""

    def __init__(self, bucket: str = "claim-check-test") -> None:
        self.bucket = bucket
        self.objects: dict[str, bytes] = {}
        self.puts = 0

    def put(self, order_key: str, body: bytes) -> ClaimCheck:
        self.puts += 1
        ref = ClaimCheck.of(self.bucket, object_key(order_key, body), body)
        self.objects[ref.key] = body
        return ref

    def get(self, ref: ClaimCheck) -> bytes:
        if ref.key not in self.objects:
            raise ClaimCheckError(f"claim-check object {ref.key} is missing")
        return ref.verify(self.objects[ref.key])


class FixedClock:
    def __init__(self, start: datetime = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def area(**overrides: Any) -> AreaSettings:
    defaults: dict[str, Any] = {
        "area_id": "AREA-CREDIT",
        "active": True,
        "platforms": frozenset({"BANKLINE"}),
        "signature_methods": frozenset({"DIGITAL"}),
        "max_amount": Decimal("5000000.00"),
    }
    return AreaSettings(**{**defaults, **overrides})


def partners(
    grants: dict[str, PowerGrant] | None = None,
    contacts: dict[str, Contact] | None = None,
    accesses: dict[tuple[str, str], OperatorAccess] | None = None,
    parametrizer: FakeParametrizer | None = None,
    powers_failures: int = 0,
) -> Partners:
    return Partners(
        parametrizer=parametrizer or FakeParametrizer({"AREA-CREDIT": area()}),
        domains=FakeDomains({("product", "CCB"): True, ("power", "SIGN_CREDIT"): True, ("product", "OLD"): False}),
        powers=FakePowers(grants or {}, failures=powers_failures),
        people=FakePeople(contacts or {}),
        operators=FakeOperators(accesses or {}),
    )
