"""Decides whether one party (company or person) has a quorum to sign an order.

The engine only reasons over data already fetched; the service layer decides what to
fetch (a company's `screen` says whose operator to check) and in which order to call partners.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from chalicelib.quorum.model import (
    Contact,
    DisabledReason,
    GroupingRule,
    OperatorAccess,
    OrderTerms,
    Participant,
    PartyReason,
    PartyType,
    PartyVerdict,
    PowerGrant,
    Representative,
    Reservation,
    Role,
)
from chalicelib.quorum.rules import MAX_LISTED_SIGNER_SETS, applicable_rules, solve

_NO_CONTACT = Contact()


def reservation_applies(reservation: Reservation, terms: OrderTerms) -> DisabledReason | None:
    """The reason a reservation blocks this order, or None when it does not bite."""
    match reservation.type:
        case "AMOUNT_LIMIT":
            limit = reservation.max_amount
            return DisabledReason.AMOUNT_LIMIT if limit is None or terms.amount > limit else None
        case "VALIDITY":
            until = reservation.valid_until
            return DisabledReason.VALIDITY if until is None or until < terms.today else None
        case "SIGNATURE_METHOD":
            allowed = reservation.allowed_methods
            blocked = allowed is None or terms.signature_method not in allowed
            return DisabledReason.SIGNATURE_METHOD if blocked else None
        case _:
            return DisabledReason.UNKNOWN_RESERVATION


def _merge_by_cpf(representatives: Sequence[Representative]) -> dict[str, tuple[list[str], list[Reservation]]]:
    """A person listed twice (two groups) is still one signer who counts once."""
    merged: dict[str, tuple[list[str], list[Reservation]]] = {}
    for rep in representatives:
        seen = merged.get(rep.cpf)
        if seen is None:
            merged[rep.cpf] = ([rep.group], list(rep.reservations))
            continue
        groups, reservations = seen
        if rep.group not in groups:
            groups.append(rep.group)
        reservations.extend(rep.reservations)
    return merged


_REASON_ORDER = {reason: i for i, reason in enumerate(DisabledReason)}


def _reservation_reasons(reservations: Sequence[Reservation], terms: OrderTerms) -> tuple[DisabledReason, ...]:
    """Distinct reasons in a fixed order, so the verdict never depends on the partner's ordering."""
    found = {reason for r in reservations if (reason := reservation_applies(r, terms)) is not None}
    return tuple(sorted(found, key=_REASON_ORDER.__getitem__))


class Candidate(NamedTuple):
    """A representative listed once, with every group they sit in and the reservations that bite.

    A named tuple: a large company has hundreds, built on every evaluation.
    """

    cpf: str
    groups: tuple[str, ...]
    reserved_by: tuple[DisabledReason, ...]


@dataclass(frozen=True, slots=True)
class Screening:
    """A company's representatives and rules for one order, worked out once: first to choose whom to look
    up (contacts, operators), then to evaluate."""

    candidates: tuple[Candidate, ...]
    rules: tuple[GroupingRule, ...]
    unused: frozenset[str] = frozenset()
    """Representatives no applicable rule can use (no clause names them or any of their groups)."""

    @property
    def to_contact(self) -> list[str]:
        """Only the others can appear in a signer set, so only their contacts are looked up."""
        unused = self.unused
        return [c.cpf for c in self.candidates if not unused or c.cpf not in unused]

    @property
    def unreserved(self) -> list[str]:
        """Only they can still sign, so only their operators are checked."""
        unused = self.unused
        return [c.cpf for c in self.candidates if not c.reserved_by and (not unused or c.cpf not in unused)]


def screen(grant: PowerGrant | None, terms: OrderTerms) -> Screening:
    if grant is None:
        return Screening((), ())
    rules = tuple(applicable_rules(grant.rules, terms.amount))
    used_groups: set[str | None] = set()
    named: set[str] = set()
    for rule in rules:
        for clause in rule.clauses:
            if clause.cpf is None:
                used_groups.add(clause.group)
            else:
                named.add(clause.cpf)
    candidates = []
    unused = []
    for cpf, (groups, reservations) in _merge_by_cpf(grant.representatives).items():
        if len(groups) == 1:
            in_groups: tuple[str, ...] = (groups[0],)
            in_no_rule = groups[0] not in used_groups
        else:
            in_groups = tuple(sorted(groups))
            in_no_rule = used_groups.isdisjoint(groups)
        reserved_by = _reservation_reasons(reservations, terms) if reservations else ()
        candidates.append(Candidate(cpf, in_groups, reserved_by))
        if in_no_rule and cpf not in named:
            unused.append(cpf)
    return Screening(tuple(candidates), rules, frozenset(unused))


def operator_reasons(access: OperatorAccess | None) -> list[DisabledReason]:
    if access is None or not access.operator_active:
        reasons = [DisabledReason.NO_OPERATOR]
        if access is not None and not access.account_access:
            reasons.append(DisabledReason.NO_ACCOUNT_ACCESS)
        return reasons
    return [] if access.account_access else [DisabledReason.NO_ACCOUNT_ACCESS]


def evaluate_company(
    role: Role,
    cnpj: str,
    grant: PowerGrant | None,
    terms: OrderTerms,
    contacts: Mapping[str, Contact | None],
    operators: Mapping[str, OperatorAccess | None],
    listed_cap: int = MAX_LISTED_SIGNER_SETS,
) -> PartyVerdict:
    return evaluate_screened(role, cnpj, screen(grant, terms), contacts, operators, listed_cap)


def evaluate_screened(
    role: Role,
    cnpj: str,
    screening: Screening,
    contacts: Mapping[str, Contact | None],
    operators: Mapping[str, OperatorAccess | None],
    listed_cap: int = MAX_LISTED_SIGNER_SETS,
) -> PartyVerdict:
    """Reservations, then operators, then grouping rules; the first stage nobody survives names the reason."""
    participants: list[Participant] = []
    survivors: dict[str, tuple[str, ...]] = {}
    unused = screening.unused
    for candidate in screening.candidates:
        if unused and candidate.cpf in unused:
            reasons = (*candidate.reserved_by, DisabledReason.NOT_IN_APPLICABLE_RULE)
        else:
            reasons = candidate.reserved_by or _operator_block(operators.get(candidate.cpf))
        if not reasons:
            survivors[candidate.cpf] = candidate.groups
        contact = contacts.get(candidate.cpf) or _NO_CONTACT
        participants.append(
            Participant(candidate.cpf, candidate.groups, contact, not reasons, bool(candidate.reserved_by), reasons)
        )
    participants.sort(key=_by_cpf)
    if not survivors:
        return PartyVerdict(role, PartyType.PJ, cnpj, False, _nobody_left(screening), tuple(participants))
    solved = solve(survivors, screening.rules, listed_cap)
    return PartyVerdict(
        role,
        PartyType.PJ,
        cnpj,
        quorum=bool(solved.satisfied_rules),
        reason=None if solved.satisfied_rules else PartyReason.NO_RULE_SATISFIED,
        participants=tuple(participants),
        satisfied_rules=solved.satisfied_rules,
        signer_sets=solved.listed,
        signer_sets_total=solved.total,
        signers=solved.signers,
        signer_sets_total_exact=solved.exact,
    )


_by_cpf = attrgetter("cpf")


def _operator_block(access: OperatorAccess | None) -> tuple[DisabledReason, ...]:
    """Nearly everyone has a working operator: answer that without building a list."""
    if access is not None and access.operator_active and access.account_access:
        return ()
    return tuple(operator_reasons(access))


def _nobody_left(screening: Screening) -> PartyReason:
    """The first stage nobody survived, before any grouping rule is looked at."""
    if not screening.candidates:
        return PartyReason.NO_REPRESENTATIVES
    if all(c.reserved_by for c in screening.candidates):
        return PartyReason.NO_ENABLED_REPRESENTATIVES
    if screening.unreserved:
        return PartyReason.NO_ACTIVE_OPERATOR
    return PartyReason.NO_RULE_SATISFIED  # the unreserved are in no applicable rule


def evaluate_person(role: Role, cpf: str, contact: Contact | None, access: OperatorAccess | None) -> PartyVerdict:
    """A person signs for themself: only their own operator and account access matter."""
    reasons = operator_reasons(access)
    enabled = not reasons
    participant = Participant(cpf, (), contact or _NO_CONTACT, enabled, False, tuple(reasons))
    return PartyVerdict(
        role=role,
        party_type=PartyType.PF,
        document=cpf,
        quorum=enabled,
        reason=None if enabled else PartyReason.NO_ACTIVE_OPERATOR,
        participants=(participant,),
        signer_sets=((cpf,),) if enabled else (),
        signer_sets_total=1 if enabled else 0,
        signers=(cpf,) if enabled else (),
    )
