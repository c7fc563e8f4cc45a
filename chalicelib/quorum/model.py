"""What the quorum engine reasons about: plain, immutable data with no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class PartyReason(StrEnum):
    """Why a party has no quorum, in the order the checks run."""

    NO_REPRESENTATIVES = "NO_REPRESENTATIVES"
    NO_ENABLED_REPRESENTATIVES = "NO_ENABLED_REPRESENTATIVES"
    NO_ACTIVE_OPERATOR = "NO_ACTIVE_OPERATOR"
    NO_RULE_SATISFIED = "NO_RULE_SATISFIED"


class DisabledReason(StrEnum):
    """Why one participant cannot sign this order."""

    AMOUNT_LIMIT = "AMOUNT_LIMIT"
    VALIDITY = "VALIDITY"
    SIGNATURE_METHOD = "SIGNATURE_METHOD"
    UNKNOWN_RESERVATION = "UNKNOWN_RESERVATION"
    NO_OPERATOR = "NO_OPERATOR"
    NO_ACCOUNT_ACCESS = "NO_ACCOUNT_ACCESS"
    NOT_IN_APPLICABLE_RULE = "NOT_IN_APPLICABLE_RULE"
    """No rule that admits this order names them or any of their groups: their operator and contact are
    not looked up, and they cannot sign it."""


class Role(StrEnum):
    REQUESTER = "REQUESTER"
    GUARANTOR = "GUARANTOR"


class PartyType(StrEnum):
    PJ = "PJ"
    PF = "PF"


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """The parts of an order that decide whether a representative may sign it."""

    amount: Decimal
    signature_method: str
    today: date


@dataclass(frozen=True, slots=True)
class Reservation:
    """A restriction on a representative's power; unknown or malformed ones always apply."""

    type: str
    max_amount: Decimal | None = None
    valid_until: date | None = None
    allowed_methods: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Representative:
    cpf: str
    group: str
    reservations: tuple[Reservation, ...] = ()


@dataclass(frozen=True, slots=True)
class Clause:
    """Either `min` people from `group`, or the named `cpf` in person."""

    min: int
    group: str | None = None
    cpf: str | None = None


@dataclass(frozen=True, slots=True)
class GroupingRule:
    """One way the company may sign: every clause filled at once by distinct people."""

    rule_id: str
    clauses: tuple[Clause, ...]
    max_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PowerGrant:
    """Who holds a power for a company, and who may sign with whom."""

    representatives: tuple[Representative, ...]
    rules: tuple[GroupingRule, ...]


@dataclass(frozen=True, slots=True)
class Contact:
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class OperatorAccess:
    operator_active: bool
    account_access: bool


@dataclass(frozen=True, slots=True)
class Participant:
    cpf: str
    groups: tuple[str, ...]
    contact: Contact
    enabled: bool
    reservation: bool
    disabled_reasons: tuple[DisabledReason, ...]


@dataclass(frozen=True, slots=True)
class PartyVerdict:
    role: Role
    party_type: PartyType
    document: str
    quorum: bool
    reason: PartyReason | None
    participants: tuple[Participant, ...]
    satisfied_rules: tuple[str, ...] = ()
    signer_sets: tuple[tuple[str, ...], ...] = ()
    signer_sets_total: int = 0
    signers: tuple[str, ...] = field(default=())
    signer_sets_total_exact: bool = True


@dataclass(frozen=True, slots=True)
class OrderVerdict:
    parties: tuple[PartyVerdict, ...]

    @property
    def quorum(self) -> bool:
        return all(party.quorum for party in self.parties)

    @property
    def reason(self) -> PartyReason | None:
        """The first failing party's reason, so a caller sees one headline cause."""
        return next((p.reason for p in self.parties if not p.quorum), None)
