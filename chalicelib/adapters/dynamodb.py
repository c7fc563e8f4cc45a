"""PynamoDB adapter for the OrderRepository port.

Model classes live only here and are bound to a table, region and endpoint at bootstrap
(`bind_models`), so importing this module touches no configuration and no network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.orders.claim_check import (
    ITEM_INLINE_LIMIT,
    ClaimCheck,
    ClaimCheckError,
    decode_parties,
    encode_parties,
    exceeds,
)
from chalicelib.orders.errors import IdempotencyKeyTaken
from chalicelib.orders.model import IdempotencyRecord, Order, OrderStatus
from chalicelib.orders.ports import ClaimCheckStore, OrderRepository
from chalicelib.orders.requests import parse_order_request
from chalicelib.orders.wire import request_to_wire, verdict_from_wire, verdict_to_wire
from chalicelib.quorum.model import OrderVerdict

_CONDITION_FAILED = "ConditionalCheckFailedException"


class OrdersByStatus(GlobalSecondaryIndex["OrderModel"]):
    """Finds orders by status and age (the sweeper's stuck-in-PROCESSING query); keys only."""

    class Meta:
        index_name = "by-status"
        projection = KeysOnlyProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class OrderModel(Model):
    class Meta:
        table_name = "ame-orders"

    by_status = OrdersByStatus()

    order_key = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    request = JSONAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    idempotency_key = UnicodeAttribute(null=True)
    parties = JSONAttribute(null=True)
    parties_claim_check = JSONAttribute(null=True)
    """Set instead of `parties` when they exceed `ITEM_INLINE_LIMIT`: where the claim-check object is."""
    reason = UnicodeAttribute(null=True)
    failure_detail = UnicodeAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)
    result_published = BooleanAttribute(default=False)
    notified = UnicodeSetAttribute(null=True)
    outbox_claimed_at = UTCDateTimeAttribute(null=True)
    """Outbox: when an attempt claimed it, before sending (README, Outbox)."""
    enqueued_at = UTCDateTimeAttribute(null=True)
    """Sweeper: when it last queued the request again; `requeues` how often."""
    requeues = NumberAttribute(null=True)
    received_at = UTCDateTimeAttribute(null=True)
    """Worker: when it last received the request while PROCESSING; `receives` how often."""
    receives = NumberAttribute(null=True)


class IdempotencyModel(Model):
    class Meta:
        table_name = "ame-idempotency"

    key = UnicodeAttribute(hash_key=True)
    fingerprint = UnicodeAttribute()
    order_key = UnicodeAttribute()
    expires_at = TTLAttribute()


@dataclass(frozen=True, slots=True)
class BoundModels:
    orders: type[OrderModel]
    idempotency: type[IdempotencyModel]
    connection: Connection


def bind_model(base: type[Model], table_name: str, region: str, host: str | None) -> Any:
    """A subclass of `base` on one table, region and endpoint, streams on."""
    # Streams as in AWS, where global tables replicate through them (and the local replicator reads them).
    meta = type(
        "Meta",
        (),
        {"table_name": table_name, "region": region, "host": host, "stream_view_type": "NEW_AND_OLD_IMAGES"},
    )
    return type(f"{base.__name__}_{table_name}", (base,), {"Meta": meta})


def bind_models(orders_table: str, idempotency_table: str, region: str, host: str | None) -> BoundModels:
    return BoundModels(
        orders=bind_model(OrderModel, orders_table, region, host),
        idempotency=bind_model(IdempotencyModel, idempotency_table, region, host),
        connection=Connection(region=region, host=host),
    )


def order_item_key(order_key: str) -> dict[str, dict[str, str]]:
    """The low-level key of an order item, for tools that read items raw (DR drills)."""
    return {"order_key": {"S": order_key}}


_CANCELLED = "TransactionCanceledException"
_TRANSACTION_CONFLICT = "TransactionConflict"
_CLAIM_CONFLICTS = frozenset({"ConditionalCheckFailed", _TRANSACTION_CONFLICT})


def claim_lost(exc: TransactWriteError, key: str) -> IdempotencyKeyTaken | None:
    """What a cancelled draft-and-claim transaction (`add`: item 0 the draft, item 1 the claim) means.

    - the claim's condition failed (`ConditionalCheckFailed` on item 1): the key is held by another request;
    - `TransactionConflict` on any item: another request was writing the same key at that moment (DynamoDB
      cancels one or both of two concurrent transactions on an item); the holder may not be visible yet;
    - `TransactionConflictException` (the whole call refused while another transaction holds the item): the same.

    Anything else (throttling, validation, a failed draft condition alone, ...) is None: not a lost claim.
    """
    code = exc.cause_response_code
    if code == "TransactionConflictException":
        return IdempotencyKeyTaken(key, contended=True)
    if code != _CANCELLED:
        return None
    codes = [reason.code if reason is not None else None for reason in exc.cancellation_reasons]
    if len(codes) != 2 or not _CLAIM_CONFLICTS.issuperset(c for c in codes if c is not None):
        return None
    if _TRANSACTION_CONFLICT in codes:
        return IdempotencyKeyTaken(key, contended=True)
    if codes[1] == "ConditionalCheckFailed":
        return IdempotencyKeyTaken(key)
    return None


class PynamoOrderRepository(OrderRepository):
    """`claim_checks` holds verdicts too large for the item; without it such a verdict cannot be recorded."""

    def __init__(
        self, models: BoundModels, idempotency_ttl: timedelta, claim_checks: ClaimCheckStore | None = None
    ) -> None:
        self._orders = models.orders
        self._keys = models.idempotency
        self._connection = models.connection
        self._ttl = idempotency_ttl
        self._claim_checks = claim_checks

    def add(self, order: Order, idempotency: IdempotencyRecord | None) -> None:
        item = self._to_item(order)
        if idempotency is None:
            item.save(condition=self._orders.order_key.does_not_exist())
            return
        now = datetime.now(UTC)
        claim = self._keys(
            idempotency.key,
            fingerprint=idempotency.fingerprint,
            order_key=idempotency.order_key,
            expires_at=now + self._ttl,
        )
        # An expired claim is free although DynamoDB may keep the item for days after its TTL.
        free = self._keys.key.does_not_exist() | (self._keys.expires_at <= now)
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.save(item, condition=self._orders.order_key.does_not_exist())
                transaction.save(claim, condition=free)
        except TransactWriteError as exc:
            lost = claim_lost(exc, idempotency.key)
            if lost is None:
                raise
            raise lost from exc

    def get(self, order_key: str) -> Order | None:
        try:
            return self._to_domain(self._orders.get(order_key, consistent_read=True))
        except DoesNotExist:
            return None

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        try:
            item = self._keys.get(key, consistent_read=True)
        except DoesNotExist:
            return None
        if _expired(item.expires_at):
            return None  # DynamoDB deletes expired items up to days late; an expired key is free again
        return IdempotencyRecord(item.key, item.fingerprint, item.order_key)

    def release_idempotency(self, key: str) -> None:
        self._keys(key).delete()

    def record_decision(self, order_key: str, verdict: OrderVerdict, at: datetime) -> Order:
        m = self._orders
        reason = verdict.reason.value if verdict.reason else None
        parties = verdict_to_wire(verdict)
        if exceeds(parties, ITEM_INLINE_LIMIT):
            # Written before the item, so an item never names an object that is not there yet.
            ref = self._store().put(order_key, encode_parties(parties))
            stored = [m.parties.remove(), m.parties_claim_check.set(ref.to_wire())]
        else:
            stored = [m.parties.set(parties), m.parties_claim_check.remove()]
        actions: list[Action] = [
            m.status.set(OrderStatus.of(verdict).value),
            *stored,
            m.updated_at.set(at),
            m.decided_at.set(at),
            m.failure_detail.remove(),
            m.reason.set(reason) if reason is not None else m.reason.remove(),
        ]
        # FAILED is final: only an operator's replay re-opens it (`reopen`) before it can be decided.
        undecided = m.status == OrderStatus.PROCESSING.value
        item = m(order_key)
        try:
            item.update(actions=actions, condition=undecided)
        except UpdateError as exc:
            if exc.cause_response_code != _CONDITION_FAILED:
                raise
            current = self.get(order_key)
            if current is None:
                raise
            return current
        return self._to_domain(item, verdict)

    def mark_failed(self, order_key: str, reason: str, detail: str, at: datetime) -> None:
        m = self._orders
        actions = [m.status.set(OrderStatus.FAILED.value), m.reason.set(reason), m.failure_detail.set(detail)]
        self._update_if(order_key, [*actions, m.updated_at.set(at)], m.status == OrderStatus.PROCESSING.value)

    def reopen(self, order_key: str, at: datetime) -> bool:
        m = self._orders
        actions = [
            m.status.set(OrderStatus.PROCESSING.value),
            m.reason.remove(),
            m.failure_detail.remove(),
            m.updated_at.set(at),
            m.received_at.remove(),
            m.receives.remove(),
            m.enqueued_at.set(at),
        ]
        return self._update_if(order_key, actions, m.status == OrderStatus.FAILED.value)

    def mark_received(self, order_key: str, at: datetime) -> None:
        m = self._orders
        actions = [m.received_at.set(at), m.receives.add(1)]
        self._update_if(order_key, actions, m.status == OrderStatus.PROCESSING.value)

    def mark_requeued(self, order_key: str, at: datetime) -> bool:
        m = self._orders
        actions = [m.enqueued_at.set(at), m.requeues.add(1)]
        return self._update_if(order_key, actions, m.status == OrderStatus.PROCESSING.value)

    def claim_outbox(self, order_key: str, at: datetime) -> None:
        m = self._orders
        self._update_if(order_key, [m.outbox_claimed_at.set(at)], m.order_key.exists())

    def mark_result_published(self, order_key: str, at: datetime) -> None:
        m = self._orders
        self._update_if(order_key, [m.result_published.set(True), m.updated_at.set(at)], m.order_key.exists())

    def mark_notified(self, order_key: str, cpfs: Iterable[str], at: datetime) -> None:
        m = self._orders
        self._update_if(order_key, [m.notified.add(set(cpfs)), m.updated_at.set(at)], m.order_key.exists())

    def stuck_in_processing(self, created_before: datetime, limit: int) -> list[str]:
        m = self._orders
        items = m.by_status.query(
            OrderStatus.PROCESSING.value, m.created_at < created_before, scan_index_forward=True, limit=limit
        )
        return [item.order_key for item in items]

    def _update_if(self, order_key: str, actions: list[Any], condition: Any) -> bool:
        """False when the condition did not hold (nothing written)."""
        try:
            self._orders(order_key).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if exc.cause_response_code != _CONDITION_FAILED:
                raise
            return False
        return True

    def _to_item(self, order: Order) -> OrderModel:
        return self._orders(
            order.order_key,
            status=order.status.value,
            request=request_to_wire(order.request),
            created_at=order.created_at,
            updated_at=order.updated_at,
            idempotency_key=order.idempotency_key,
        )

    def _store(self) -> ClaimCheckStore:
        if self._claim_checks is None:
            raise ClaimCheckError("this verdict needs the claim-check bucket, and none is configured")
        return self._claim_checks

    def _parties(self, item: OrderModel) -> list[dict[str, Any]] | None:
        """Inline, or fetched from the claim-check object the item names."""
        if item.parties_claim_check:
            ref = ClaimCheck.from_wire(item.parties_claim_check)
            return decode_parties(self._store().get(ref))
        parties: list[dict[str, Any]] | None = item.parties
        return parties

    def _to_domain(self, item: OrderModel, verdict: OrderVerdict | None = None) -> Order:
        """`verdict`, when the caller has just written it, saves fetching it back."""
        return Order(
            order_key=item.order_key,
            request=parse_order_request(item.request),
            status=OrderStatus(item.status),
            created_at=item.created_at,
            updated_at=item.updated_at,
            idempotency_key=item.idempotency_key,
            verdict=verdict if verdict is not None else verdict_from_wire(self._parties(item)),
            reason=item.reason,
            failure_detail=item.failure_detail,
            decided_at=item.decided_at,
            result_published=bool(item.result_published),
            notified=frozenset(item.notified or ()),
            outbox_claimed_at=item.outbox_claimed_at,
            enqueued_at=item.enqueued_at,
            requeues=int(item.requeues or 0),
            received_at=item.received_at,
            receives=int(item.receives or 0),
        )


def _expired(expires_at: datetime | None) -> bool:
    """The same rule as the claim's condition: TTLs are whole seconds, expired at that second."""
    return expires_at is not None and expires_at <= datetime.now(UTC)


def ensure_table(model: type[Model]) -> None:
    """Local runtime only: in AWS the Pulumi data stack owns the tables."""
    if not model.exists():
        model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)


def create_tables(models: BoundModels) -> None:
    for model in (models.orders, models.idempotency):
        ensure_table(model)
