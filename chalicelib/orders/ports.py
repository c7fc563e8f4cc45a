"""Ports: what the order use cases need from the outside world, named for what they do.

Adapters (HTTP partners, PynamoDB, SQS) implement these; unit tests use in-memory fakes
that subclass them. Partner ports raise `PartnerUnavailable` for transient failures and
return None for a definitive "not found".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime

from chalicelib.orders.claim_check import ClaimCheck
from chalicelib.orders.model import AreaSettings, DomainEntry, IdempotencyRecord, Order, SignerNotice
from chalicelib.quorum.model import Contact, OperatorAccess, OrderVerdict, PowerGrant


class Parametrizer(ABC):
    @abstractmethod
    def area(self, area_id: str) -> AreaSettings | None: ...


class DomainCatalog(ABC):
    @abstractmethod
    def entry(self, domain: str, key: str) -> DomainEntry | None: ...


class PowersDirectory(ABC):
    @abstractmethod
    def grant(self, cnpj: str, power_code: str) -> PowerGrant | None: ...


class PeopleDirectory(ABC):
    @abstractmethod
    def contact(self, cpf: str) -> Contact | None: ...

    def contacts_of(self, cpfs: Sequence[str], executor: Executor) -> Callable[[], dict[str, Contact | None]]:
        """Starts looking many people up; the returned call waits for every answer (raising the first
        failure). By default one `contact` call each, concurrently; adapters with a batch route override it."""
        futures = {cpf: executor.submit(self.contact, cpf) for cpf in dict.fromkeys(cpfs)}
        return lambda: {cpf: future.result() for cpf, future in futures.items()}


class OperatorRegistry(ABC):
    @abstractmethod
    def access(self, holder: str, cpf: str, platform: str) -> OperatorAccess | None: ...

    def accesses_of(
        self, holder: str, cpfs: Sequence[str], platform: str, executor: Executor
    ) -> Callable[[], dict[str, OperatorAccess | None]]:
        """As `PeopleDirectory.contacts_of`, for one holder's operators."""
        futures = {cpf: executor.submit(self.access, holder, cpf, platform) for cpf in dict.fromkeys(cpfs)}
        return lambda: {cpf: future.result() for cpf, future in futures.items()}


@dataclass(frozen=True, slots=True)
class Partners:
    """The partner services an order is checked against and its envelope assembled from."""

    parametrizer: Parametrizer
    domains: DomainCatalog
    powers: PowersDirectory
    people: PeopleDirectory
    operators: OperatorRegistry


class OrderRepository(ABC):
    @abstractmethod
    def add(self, order: Order, idempotency: IdempotencyRecord | None) -> None:
        """Stores a new draft; raises IdempotencyKeyTaken if the key was claimed meanwhile."""

    @abstractmethod
    def get(self, order_key: str) -> Order | None: ...

    @abstractmethod
    def find_idempotency(self, key: str) -> IdempotencyRecord | None: ...

    @abstractmethod
    def release_idempotency(self, key: str) -> None: ...

    @abstractmethod
    def record_decision(self, order_key: str, verdict: OrderVerdict, at: datetime) -> Order:
        """Stores the verdict unless the order is already decided; returns the stored order either way."""

    @abstractmethod
    def mark_failed(self, order_key: str, reason: str, detail: str, at: datetime) -> None:
        """Marks a PROCESSING order FAILED; a decided (or already FAILED) order is left alone."""

    @abstractmethod
    def reopen(self, order_key: str, at: datetime) -> bool:
        """An operator's replay: a FAILED order back to PROCESSING (reason cleared). False if it was not FAILED."""

    @abstractmethod
    def mark_received(self, order_key: str, at: datetime) -> None:
        """A worker received the order's request: `received_at` and `receives`, only while PROCESSING."""

    @abstractmethod
    def mark_requeued(self, order_key: str, at: datetime) -> bool:
        """The sweeper queues the request again: `enqueued_at` and `requeues`, only while PROCESSING
        (False, and nothing written, if the order is no longer PROCESSING)."""

    @abstractmethod
    def claim_outbox(self, order_key: str, at: datetime) -> None:
        """Records `outbox_claimed_at` before anything of the outbox is sent."""

    @abstractmethod
    def mark_result_published(self, order_key: str, at: datetime) -> None: ...

    @abstractmethod
    def mark_notified(self, order_key: str, cpfs: Iterable[str], at: datetime) -> None: ...

    @abstractmethod
    def stuck_in_processing(self, created_before: datetime, limit: int) -> list[str]:
        """Keys of orders still PROCESSING that were created before the cutoff, oldest first."""


class RegionSwitch(ABC):
    """Whether this region may write: a primary the standby has taken over is fenced until failback."""

    @abstractmethod
    def in_service(self) -> bool: ...


class AlwaysInService(RegionSwitch):
    """Where no switch is configured (the single-region local stack)."""

    def in_service(self) -> bool:
        return True


class TrafficProbe(ABC):
    """Which region the public API name is sending traffic to right now (None if nobody answers)."""

    @abstractmethod
    def serving_region(self) -> str | None: ...


class EnvelopeQueue(ABC):
    @abstractmethod
    def enqueue(self, order_key: str) -> None:
        """Raises QueueUnavailable when the request could not be queued."""

    def waiting(self) -> int | None:
        """About how many requests wait to be received (visible or delayed, not in flight); None: unknown."""
        return None

    def redeliver_within(self, receipt_handle: str, seconds: int) -> None:
        """Makes a received request visible again `seconds` from now if it is not deleted by then (SQS's
        ChangeMessageVisibility): the outbox's claim asks this so that an attempt that dies after claiming is
        retried inside the deduplication window, not a whole visibility timeout later. Default: nothing."""
        return None


class EnvelopePublisher(ABC):
    """Where decided envelopes and pending-signature notifications go."""

    @abstractmethod
    def publish_result(self, order: Order) -> None:
        """Sends the decided order's result, deduplicated by its order key."""

    @abstractmethod
    def notify_signers(self, notices: Sequence[SignerNotice]) -> None:
        """Sends every notice, each deduplicated by its `dedup_id`; all or an exception."""


class ClaimCheckStore(ABC):
    """The bucket for verdicts too large for an item or a message (`chalicelib.orders.claim_check`)."""

    @abstractmethod
    def put(self, order_key: str, body: bytes) -> ClaimCheck:
        """Stores `body` under a key derived from the order and the content; the same body, the same object."""

    @abstractmethod
    def get(self, ref: ClaimCheck) -> bytes:
        """The referenced bytes, verified against the reference; raises ClaimCheckError otherwise."""
