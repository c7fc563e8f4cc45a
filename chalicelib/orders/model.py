"""A signature order as the service layer sees it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from chalicelib.documents import Cnpj, Cpf
from chalicelib.quorum.model import Contact, OrderVerdict, PartyType, Role


class OrderStatus(StrEnum):
    PROCESSING = "PROCESSING"
    QUORUM_MET = "QUORUM_MET"
    NO_QUORUM = "NO_QUORUM"
    FAILED = "FAILED"

    @property
    def decided(self) -> bool:
        return self in (OrderStatus.QUORUM_MET, OrderStatus.NO_QUORUM)

    @property
    def terminal(self) -> bool:
        """Nothing more will happen to the order on its own (FAILED waits for a DLQ replay)."""
        return self is not OrderStatus.PROCESSING

    @classmethod
    def of(cls, verdict: OrderVerdict) -> OrderStatus:
        return cls.QUORUM_MET if verdict.quorum else cls.NO_QUORUM


def new_order_key() -> str:
    return f"ord_{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class PartyRef:
    role: Role
    document: Cpf | Cnpj

    @property
    def type(self) -> PartyType:
        return PartyType.PF if isinstance(self.document, Cpf) else PartyType.PJ


@dataclass(frozen=True, slots=True)
class OrderRequest:
    area_id: str
    product: str
    power_code: str
    platform: str
    signature_method: str
    amount: Decimal
    requester: PartyRef
    guarantors: tuple[PartyRef, ...] = ()

    @property
    def parties(self) -> tuple[PartyRef, ...]:
        return (self.requester, *self.guarantors)


@dataclass(frozen=True, slots=True)
class Order:
    order_key: str
    request: OrderRequest
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    idempotency_key: str | None = None
    verdict: OrderVerdict | None = None
    """The engine's verdict, once decided."""
    reason: str | None = None
    failure_detail: str | None = None
    decided_at: datetime | None = None
    result_published: bool = False
    notified: frozenset[str] = field(default_factory=frozenset)
    outbox_claimed_at: datetime | None = None
    """When an attempt last claimed the outbox, before sending (README, Outbox): every send under this claim
    happens within the FIFO deduplication window after it, so a resend under a live claim is dropped by SQS."""
    enqueued_at: datetime | None = None
    """When the sweeper last queued the request again (the API's first enqueue is `created_at`)."""
    requeues: int = 0
    """How many times the sweeper queued the request again (its back-off doubles with each)."""
    received_at: datetime | None = None
    """When a worker last received the order's request while it was PROCESSING."""
    receives: int = 0

    @property
    def last_sign_of_life(self) -> datetime:
        """The latest of: drafted (and queued), queued again by the sweeper, received by a worker."""
        return max(t for t in (self.created_at, self.enqueued_at, self.received_at) if t is not None)

    @property
    def quorum(self) -> bool | None:
        return self.status is OrderStatus.QUORUM_MET if self.status.decided else None

    def signer_notices(self) -> tuple[SignerNotice, ...]:
        """One pending-signature notice per signer, by CPF (a person signing for two parties gets one)."""
        if self.verdict is None or not self.verdict.quorum:
            return ()
        contacts: dict[str, Contact] = {}
        behalf: dict[str, list[Signatory]] = {}
        for party in self.verdict.parties:
            for participant in party.participants:
                contacts.setdefault(participant.cpf, participant.contact)
            for cpf in party.signers:
                behalf.setdefault(cpf, []).append(Signatory(party.role, party.document))
        return tuple(
            SignerNotice(self.order_key, cpf, contacts.get(cpf, Contact()), tuple(parties))
            for cpf, parties in sorted(behalf.items())
        )


@dataclass(frozen=True, slots=True)
class Signatory:
    """A party a signer signs for."""

    role: Role
    document: str


@dataclass(frozen=True, slots=True)
class SignerNotice:
    order_key: str
    cpf: str
    contact: Contact
    on_behalf_of: tuple[Signatory, ...]

    @property
    def dedup_id(self) -> str:
        """Stable per order and signer: queues and consumers drop a resend by it."""
        return f"{self.order_key}:{self.cpf}"


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key: str
    fingerprint: str
    order_key: str


@dataclass(frozen=True, slots=True)
class AreaSettings:
    area_id: str
    active: bool
    platforms: frozenset[str]
    signature_methods: frozenset[str]
    max_amount: Decimal | None


@dataclass(frozen=True, slots=True)
class DomainEntry:
    domain: str
    key: str
    name: str
    active: bool
