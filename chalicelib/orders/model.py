"""A signature order as the service layer sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from chalicelib.documents import Cnpj, Cpf
from chalicelib.quorum.model import PartyType, Role


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
    parties: tuple[dict[str, Any], ...] = ()
    """The decided parties in wire form (see `wire.party_to_wire`), empty until decided."""
    reason: str | None = None
    failure_detail: str | None = None
    decided_at: datetime | None = None
    result_published: bool = False
    notified: frozenset[str] = field(default_factory=frozenset)

    @property
    def quorum(self) -> bool | None:
        return self.status is OrderStatus.QUORUM_MET if self.status.decided else None


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
