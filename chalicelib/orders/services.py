"""Order use cases, each a method of `OrderService`, which bootstrap binds once to the area's ports."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from chalicelib import telemetry
from chalicelib.clock import Clock, utc_now
from chalicelib.errors import PartnerUnavailable
from chalicelib.identity.model import Caller
from chalicelib.orders.errors import (
    ForbiddenArea,
    IdempotencyConflict,
    IdempotencyInProgress,
    IdempotencyKeyTaken,
    OrderNotFound,
    OrderRejected,
    QueueUnavailable,
)
from chalicelib.orders.model import IdempotencyRecord, Order, OrderRequest, OrderStatus, PartyRef, new_order_key
from chalicelib.orders.ports import (
    EnvelopePublisher,
    EnvelopeQueue,
    OrderRepository,
    Partners,
    RegionSwitch,
    TrafficProbe,
)
from chalicelib.orders.wire import request_to_wire
from chalicelib.quorum.engine import Screening, evaluate_person, evaluate_screened, screen
from chalicelib.quorum.model import Contact, OperatorAccess, OrderTerms, OrderVerdict, PartyType, PartyVerdict

log = logging.getLogger(__name__)
IDEMPOTENCY_BACKOFF_BASE_S = 0.02
IDEMPOTENCY_BACKOFF_CAP_S = 0.2
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class CreateOrder:
    request: OrderRequest
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    order_key: str
    replayed: bool


@dataclass(frozen=True, slots=True)
class AssembleEnvelope:
    order_key: str
    attempt: int
    max_attempts: int
    reopen: bool = False
    """An operator's replay from the DLQ (`make replay-dlq`): the only request that may re-open a FAILED order."""
    receipt_handle: str | None = None
    """The request's SQS receipt, so the outbox's claim can bring it back soon if this attempt dies."""

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


@dataclass(frozen=True, slots=True)
class SweepStuckOrders:
    region: str
    older_than: timedelta
    """At least the request queue's longest time in flight (visibility timeout x maxReceiveCount)."""
    limit: int = 500
    max_rescues: int = 100


@dataclass(frozen=True, slots=True)
class SweepResult:
    active: bool
    requeued: tuple[str, ...] = ()
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class OrderService:
    """The order use cases over their ports: bootstrap binds it once, entry points call a method."""

    partners: Partners
    repository: OrderRepository
    queue: EnvelopeQueue
    publisher: EnvelopePublisher
    executor: Executor
    region_switch: RegionSwitch
    traffic_probe: TrafficProbe | None = None
    clock: Clock = utc_now
    new_order_key: Callable[[], str] = new_order_key
    idempotency_attempts: int = 6
    """How often a request that lost its Idempotency-Key claim looks again before a 409 IDEMPOTENCY_IN_PROGRESS."""
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[float, float], float] = random.uniform
    outbox_window: timedelta = timedelta(seconds=240)
    """How long after its claim an attempt may still send (`AME_OUTBOX_WINDOW_SECONDS`): under SQS FIFO's 300 s."""
    outbox_retry: timedelta = timedelta(seconds=30)
    """When a claimed request comes back if its attempt dies (`AME_OUTBOX_RETRY_SECONDS`): well inside the window."""

    def create(self, command: CreateOrder, caller: Caller) -> Accepted:
        """Validates against the parametrizer and domains, stores the draft, queues it.

        An area's system orders only for its own area. Its idempotency keys are its own too: the
        same key from another area is another key, so a key can neither replay nor reveal another
        area's order."""
        request = command.request
        if request.area_id != caller.area_id:
            raise ForbiddenArea("this client may create orders only for its own area", field="area_id")
        key = f"{caller.area_id}/{command.idempotency_key}" if command.idempotency_key else None
        claim = IdempotencyRecord(key, fingerprint(request), self.new_order_key()) if key else None
        replay = self._replay(claim)
        if replay is not None:
            return replay
        check_with_partners(request, self.partners, self.executor)
        now = self.clock()
        order_key = claim.order_key if claim else self.new_order_key()
        replay = self._add_draft(Order(order_key, request, OrderStatus.PROCESSING, now, now, key), claim)
        if replay is not None:
            return replay
        self._enqueue_draft(order_key, claim)
        log.info("order accepted", extra={"order_key": order_key})
        return Accepted(order_key, replayed=False)

    def get(self, order_key: str, caller: Caller) -> Order:
        """Another area's order answers exactly as a missing one, so keys cannot be probed."""
        order = self.repository.get(order_key)
        if order is None or order.request.area_id != caller.area_id:
            raise OrderNotFound(f"order '{order_key}' not found")
        return order

    def _load(self, order_key: str) -> Order:
        order = self.repository.get(order_key)
        if order is None:
            raise OrderNotFound(f"order '{order_key}' not found")
        return order

    def assemble(self, command: AssembleEnvelope) -> Order:
        """Decides the order once, then delivers whatever of its outbox is still undelivered.

        Safe to run again for the same order: a decided order is never re-evaluated, and the
        result and each signer's notification are sent under the outbox's claim (`_deliver_outbox`).
        On the last attempt a failure marks the order FAILED before the message goes to the DLQ.
        FAILED is final: a later copy of the request (a stale sweeper copy, a redelivery) leaves it
        alone; only an operator's replay (`command.reopen`, `make replay-dlq`) re-opens it.
        """
        order = self._load(command.order_key)
        if order.status is OrderStatus.FAILED:
            if not command.reopen:
                log.warning("FAILED is final: request ignored", extra={"order_key": order.order_key})
                return order
            self.repository.reopen(order.order_key, self.clock())
            log.warning("FAILED order re-opened by an operator's replay", extra={"order_key": order.order_key})
            order = self._load(command.order_key)
        if order.status is OrderStatus.PROCESSING:
            self.repository.mark_received(order.order_key, self.clock())
            try:
                verdict = decide(order.request, self.partners, self.executor, self.clock())
            except Exception as exc:
                if command.is_last_attempt:
                    code = exc.code if isinstance(exc, PartnerUnavailable) else "PROCESSING_ERROR"
                    self.repository.mark_failed(order.order_key, code, _describe(exc), self.clock())
                    telemetry.count("OrdersDecided", verdict="FAILED", reason=code)
                raise
            at = self.clock()
            order = self.repository.record_decision(order.order_key, verdict, at)
            if order.status.decided and order.decided_at == at:
                telemetry.count("OrdersDecided", verdict=_verdict_code(order.status), reason=order.reason or "NONE")
        if order.status.decided:
            self._deliver_outbox(order, command.receipt_handle)
        log.info("envelope assembled", extra={"order_key": order.order_key, "status": order.status.value})
        return order

    def sweep(self, command: SweepStuckOrders) -> SweepResult:
        """Re-queues only orders whose request can no longer arrive, e.g. one that sat in a region that went down.

        An order is stranded when it is still PROCESSING and nothing has happened to it (drafted and queued,
        queued again, received by a worker) for longer than `command.older_than`, which must be at least the
        request queue's longest time in flight (visibility timeout x maxReceiveCount): until then its message
        may still be in flight, or come back for another attempt. While requests wait on the queue (a backlog,
        workers down) nothing is re-queued: the order's own request may be among them. Each order backs off (the wait
        doubles with every re-queue), at most `command.max_rescues` per run, and a FAILED or decided order is
        never re-queued (`mark_requeued` is conditional on PROCESSING).

        SQS is regional: after a failover the original messages wait in the lost region. Only the
        region the public name is serving sweeps: a standby that kept sweeping after failback would
        decide, in its own replica, orders the recovered region is deciding too.
        """
        if not self.region_switch.in_service():
            log.info("fenced: the sweeper idles while the standby region serves")
            return SweepResult(active=False)
        if self.traffic_probe is not None and self.traffic_probe.serving_region() != command.region:
            return SweepResult(active=False)
        now = self.clock()
        candidates = self.repository.stuck_in_processing(now - command.older_than, command.limit)
        rescued: list[str] = []
        skipped: dict[str, int] = {}
        if candidates and self.queue.waiting():
            # Requests wait to be received: any of these orders' may be among them, and re-queuing adds load.
            telemetry.count("SweeperSkipped", len(candidates), reason="backlog")
            log.info("requests are waiting on the queue: nothing re-queued", extra={"count": len(candidates)})
            return SweepResult(active=True, skipped=len(candidates))
        for order_key in candidates:
            if len(rescued) >= command.max_rescues:
                skipped["cap"] = skipped.get("cap", 0) + 1
                continue
            order = self.repository.get(order_key)
            if order is None or order.status is not OrderStatus.PROCESSING:
                skipped["not_processing"] = skipped.get("not_processing", 0) + 1
                continue
            if now - order.last_sign_of_life < command.older_than * 2 ** min(order.requeues, MAX_BACKOFF_DOUBLINGS):
                skipped["may_still_arrive"] = skipped.get("may_still_arrive", 0) + 1
                continue
            if not self.repository.mark_requeued(order_key, now):
                skipped["not_processing"] = skipped.get("not_processing", 0) + 1
                continue
            self.queue.enqueue(order_key)
            rescued.append(order_key)
        for reason, n in sorted(skipped.items()):
            telemetry.count("SweeperSkipped", n, reason=reason)
        if rescued:
            telemetry.count("SweeperRescues", len(rescued), region=command.region)
            log.warning("re-queued stranded orders", extra={"count": len(rescued)})
        return SweepResult(active=True, requeued=tuple(rescued), skipped=sum(skipped.values()))

    def _add_draft(self, draft: Order, claim: IdempotencyRecord | None) -> Accepted | None:
        """Stores the draft under its claim, or answers as the request that holds the key did.

        Losing the claim (its condition failed, or DynamoDB cancelled our transaction because another
        request was writing the same key: `TransactionConflict`) is never a 503: we answer as the holder
        did once it is visible, and when nobody holds the key when we look (its holder's transaction was
        cancelled too, it failed to queue and released the key, or its TTL passed) we claim it again after
        a short jittered pause, up to `idempotency_attempts` times; then a 409 IDEMPOTENCY_IN_PROGRESS.
        """
        for attempt in range(self.idempotency_attempts):
            if attempt:
                self._pause(attempt - 1)
            try:
                self.repository.add(draft, claim)
                return None
            except IdempotencyKeyTaken as lost:
                log.info("idempotency key contended", extra={"attempt": attempt + 1, "conflict": lost.contended})
                replay = self._replay(claim)
                if replay is not None and replay.order_key == draft.order_key:
                    return None  # our own write had landed (an SDK retry of a committed transaction): queue it
                if replay is not None:
                    return replay
        raise IdempotencyInProgress("this Idempotency-Key is being claimed by another request right now; retry")

    def _replay(self, claim: IdempotencyRecord | None) -> Accepted | None:
        """The holder's answer, once its order is visible; None when nobody holds the key.

        A key whose order is not visible yet (its holder is mid-write, or a replica has the key before the
        order) is waited for within the same bounded, jittered budget; then 409 IDEMPOTENCY_IN_PROGRESS."""
        if claim is None:
            return None
        for attempt in range(self.idempotency_attempts):
            if attempt:
                self._pause(attempt - 1)
            stored = self.repository.find_idempotency(claim.key)
            if stored is None:
                return None
            if stored.fingerprint != claim.fingerprint:
                raise IdempotencyConflict("this Idempotency-Key was already used with a different body")
            if self.repository.get(stored.order_key) is not None:
                return Accepted(stored.order_key, replayed=True)
        raise IdempotencyInProgress("the request holding this Idempotency-Key is still writing its order; retry")

    def _pause(self, attempt: int) -> None:
        """Full jitter over a capped exponential step: 20 ms, 40 ms, ... at most 200 ms (0.5 s in all at most)."""
        self.sleep(self.jitter(0.0, min(IDEMPOTENCY_BACKOFF_CAP_S, IDEMPOTENCY_BACKOFF_BASE_S * 2**attempt)))

    def _enqueue_draft(self, order_key: str, claim: IdempotencyRecord | None) -> None:
        """A draft that cannot be queued is FAILED and its key released, so the client's retry starts afresh."""
        try:
            self.queue.enqueue(order_key)
        except QueueUnavailable:
            self.repository.mark_failed(
                order_key, QueueUnavailable.code, "could not queue the envelope request", self.clock()
            )
            if claim is not None:
                self.repository.release_idempotency(claim.key)
            raise

    def _deliver_outbox(self, order: Order, receipt_handle: str | None) -> None:
        """Claim, send, confirm (README, Outbox): never send-then-record without a claim.

        The claim (`outbox_claimed_at`) is recorded before the first send, and every send happens while it is
        younger than `outbox_window`, which is shorter than SQS FIFO's five-minute deduplication interval. A
        later attempt that finds a live claim resends what is unconfirmed with the same deduplication ids, and
        SQS drops whatever the earlier attempt had sent. The request is made visible again `outbox_retry`
        after the claim, so an attempt that dies mid-outbox is retried inside the window. A claim found
        older than the window, unconfirmed, means "maybe sent" (every worker down, or the queue out, for
        longer than the window): it is claimed afresh and resent, and consumers drop a repeat by the
        message's `dedup_id` (the consumer contract) — the one at-least-once case left.
        """
        pending = [notice for notice in order.signer_notices() if notice.cpf not in order.notified]
        if order.result_published and not pending:
            return
        now = self.clock()
        claimed_at = order.outbox_claimed_at
        live = claimed_at is not None and now - claimed_at < self.outbox_window
        if receipt_handle is not None:
            self.queue.redeliver_within(receipt_handle, max(0, int(self.outbox_retry.total_seconds())))
        if not live:
            if claimed_at is not None:
                log.warning(
                    "outbox claim older than the deduplication window: resent, consumers drop repeats by dedup_id",
                    extra={"order_key": order.order_key},
                )
            claimed_at = now
            self.repository.claim_outbox(order.order_key, claimed_at)
        assert claimed_at is not None
        if not order.result_published:
            self._within_window(claimed_at)
            self.publisher.publish_result(order)
            self.repository.mark_result_published(order.order_key, self.clock())
            self._published("result", order, live, 1)
        for start in range(0, len(pending), NOTICES_PER_CONFIRM):
            chunk = pending[start : start + NOTICES_PER_CONFIRM]
            self._within_window(claimed_at)
            self.publisher.notify_signers(chunk)
            self.repository.mark_notified(order.order_key, [notice.cpf for notice in chunk], self.clock())
            self._published("notices", order, live, len(chunk))

    def _within_window(self, claimed_at: datetime) -> None:
        if self.clock() - claimed_at >= self.outbox_window:
            raise OutboxClaimExpired("the outbox claim outlived the deduplication window; nothing more sent")

    def _published(self, what: str, order: Order, live: bool, n: int) -> None:
        if live:
            telemetry.count("OutboxDuplicatesPrevented", n, what=what)
        if order.decided_at is not None:
            lag = (self.clock() - order.decided_at).total_seconds() * 1000
            telemetry.observe_ms("OutboxLag", lag, what=what)


MAX_BACKOFF_DOUBLINGS = 6
"""A stranded order's wait before the sweeper queues it again doubles with each re-queue, up to 64 times."""
NOTICES_PER_CONFIRM = 100
"""Notices sent (10 SendMessageBatch calls) between two confirmations and two checks of the claim's age."""


class OutboxClaimExpired(RuntimeError):
    """An attempt ran past its claim's window: it stops sending (the request is redelivered)."""


def _verdict_code(status: OrderStatus) -> str:
    return "QUORUM_MET" if status is OrderStatus.QUORUM_MET else "QUORUM_NOT_MET"


def fingerprint(request: OrderRequest) -> str:
    """Same order, same fingerprint, however the JSON was spaced or the documents masked."""
    canonical = json.dumps(request_to_wire(request), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit_all(executor: Executor, calls: Mapping[K, Callable[[], T]]) -> dict[K, Future[T]]:
    return {key: executor.submit(call) for key, call in calls.items()}


def gather(futures: Mapping[K, Future[T]]) -> dict[K, T]:
    """Waits for every result; the first failure (in key order) is raised."""
    return {key: future.result() for key, future in futures.items()}


def fetch_all(executor: Executor, calls: Mapping[K, Callable[[], T]]) -> dict[K, T]:
    """Runs independent partner calls concurrently."""
    return gather(submit_all(executor, calls))


def check_with_partners(request: OrderRequest, partners: Partners, executor: Executor) -> None:
    area_lookup = executor.submit(partners.parametrizer.area, request.area_id)
    product_lookup = executor.submit(partners.domains.entry, "product", request.product)
    power_lookup = executor.submit(partners.domains.entry, "power", request.power_code)
    area = area_lookup.result()
    if area is None:
        raise OrderRejected(f"area '{request.area_id}' does not exist", "area_id", "AREA_NOT_FOUND")
    if not area.active:
        raise OrderRejected(f"area '{request.area_id}' is not active", "area_id", "AREA_INACTIVE")
    if request.platform not in area.platforms:
        raise OrderRejected("platform not allowed for this area", "platform", "PLATFORM_NOT_ALLOWED")
    if request.signature_method not in area.signature_methods:
        raise OrderRejected(
            "signature method not allowed for this area", "signature_method", "SIGNATURE_METHOD_NOT_ALLOWED"
        )
    if area.max_amount is not None and request.amount > area.max_amount:
        raise OrderRejected(f"amount above the area's limit of {area.max_amount}", "amount", "AMOUNT_ABOVE_LIMIT")
    product, power = product_lookup.result(), power_lookup.result()
    if product is None or not product.active:
        raise OrderRejected(f"unknown product '{request.product}'", "product", "UNKNOWN_PRODUCT")
    if power is None or not power.active:
        raise OrderRejected(f"unknown power '{request.power_code}'", "power_code", "UNKNOWN_POWER")


def _describe(exc: Exception) -> str:
    if isinstance(exc, PartnerUnavailable):
        return f"{exc.message}: {exc.detail}" if exc.detail else exc.message
    return type(exc).__name__


def decide(request: OrderRequest, partners: Partners, executor: Executor, now: datetime) -> OrderVerdict:
    """Fetches what the engine needs, as concurrently as the dependencies allow, and evaluates."""
    terms = OrderTerms(request.amount, request.signature_method, now.date())
    companies = [p for p in request.parties if p.type is PartyType.PJ]
    grants = fetch_all(
        executor,
        {p.document.digits: partial(partners.powers.grant, p.document.digits, request.power_code) for p in companies},
    )
    screenings = {holder: screen(grant, terms) for holder, grant in grants.items()}
    signers: list[str] = []
    checked: dict[str, list[str]] = {}
    for party in request.parties:
        holder = party.document.digits
        if party.type is PartyType.PF:
            signers.append(holder)
            checked.setdefault(holder, []).append(holder)
        else:
            signers.extend(screenings[holder].to_contact)
            checked.setdefault(holder, []).extend(screenings[holder].unreserved)
    pending_contacts = partners.people.contacts_of(signers, executor)
    pending_accesses = {
        holder: partners.operators.accesses_of(holder, cpfs, request.platform, executor)
        for holder, cpfs in checked.items()
    }
    contacts = pending_contacts()
    accesses = {(holder, cpf): access for holder, wait in pending_accesses.items() for cpf, access in wait().items()}
    return OrderVerdict(tuple(_evaluate(p, screenings, contacts, accesses) for p in request.parties))


def _evaluate(
    party: PartyRef,
    screenings: Mapping[str, Screening],
    contacts: Mapping[str, Contact | None],
    accesses: Mapping[tuple[str, str], OperatorAccess | None],
) -> PartyVerdict:
    holder = party.document.digits
    if party.type is PartyType.PF:
        return evaluate_person(party.role, holder, contacts.get(holder), accesses.get((holder, holder)))
    operators = {cpf: access for (h, cpf), access in accesses.items() if h == holder}
    return evaluate_screened(party.role, holder, screenings[holder], contacts, operators)
