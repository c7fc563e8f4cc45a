"""JSON shapes of orders: the API's answers, the stored items and the published messages.

The only place an order becomes JSON or is read back from it. Documents are digits only; money
is a decimal string; times are ISO-8601 UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.orders.claim_check import ClaimCheck
from chalicelib.orders.model import Order, OrderRequest, PartyRef, SignerNotice
from chalicelib.quorum.model import (
    Contact,
    DisabledReason,
    OrderVerdict,
    Participant,
    PartyReason,
    PartyType,
    PartyVerdict,
    Role,
)


def request_to_wire(request: OrderRequest) -> dict[str, Any]:
    """The canonical stored and fingerprinted form; `requests.parse_order_request` reads it back."""

    def party(p: PartyRef) -> dict[str, str]:
        return {"type": p.type.value, "document": p.document.digits}

    return {
        "area_id": request.area_id,
        "product": request.product,
        "power_code": request.power_code,
        "platform": request.platform,
        "signature_method": request.signature_method,
        "amount": str(request.amount),
        "requester": party(request.requester),
        "guarantors": [party(g) for g in request.guarantors],
    }


def participant_to_wire(p: Participant) -> dict[str, Any]:
    return {
        "cpf": p.cpf,
        "name": p.contact.name,
        "email": p.contact.email,
        "phone": p.contact.phone,
        "group": p.groups[0] if p.groups else None,
        "groups": list(p.groups),
        "enabled": p.enabled,
        "reservation": p.reservation,
        "disabled_reasons": [r.value for r in p.disabled_reasons],
    }


def participant_from_wire(raw: dict[str, Any]) -> Participant:
    return Participant(
        cpf=raw["cpf"],
        groups=tuple(raw["groups"]),
        contact=Contact(raw["name"], raw["email"], raw["phone"]),
        enabled=raw["enabled"],
        reservation=raw["reservation"],
        disabled_reasons=tuple(DisabledReason(r) for r in raw["disabled_reasons"]),
    )


def party_to_wire(v: PartyVerdict) -> dict[str, Any]:
    return {
        "role": v.role.value,
        "type": v.party_type.value,
        "document": v.document,
        "quorum": v.quorum,
        "reason": v.reason.value if v.reason else None,
        "participants": [participant_to_wire(p) for p in v.participants],
        "satisfied_rules": list(v.satisfied_rules),
        "signer_sets": [list(s) for s in v.signer_sets],
        "signer_sets_total": v.signer_sets_total,
        "signer_sets_total_exact": v.signer_sets_total_exact,
        "signers": list(v.signers),
    }


def party_from_wire(raw: dict[str, Any]) -> PartyVerdict:
    return PartyVerdict(
        role=Role(raw["role"]),
        party_type=PartyType(raw["type"]),
        document=raw["document"],
        quorum=raw["quorum"],
        reason=PartyReason(raw["reason"]) if raw["reason"] else None,
        participants=tuple(participant_from_wire(p) for p in raw["participants"]),
        satisfied_rules=tuple(raw["satisfied_rules"]),
        signer_sets=tuple(tuple(s) for s in raw["signer_sets"]),
        signer_sets_total=int(raw["signer_sets_total"]),
        signers=tuple(raw["signers"]),
        signer_sets_total_exact=raw.get("signer_sets_total_exact", True),  # items stored before it existed
    )


def verdict_to_wire(verdict: OrderVerdict | None) -> list[dict[str, Any]]:
    """The decided parties; empty until decided."""
    return [party_to_wire(p) for p in verdict.parties] if verdict else []


def verdict_from_wire(parties: list[dict[str, Any]] | None) -> OrderVerdict | None:
    return OrderVerdict(tuple(party_from_wire(p) for p in parties)) if parties else None


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def order_to_wire(order: Order) -> dict[str, Any]:
    return {
        "order_key": order.order_key,
        "status": order.status.value,
        "quorum": order.quorum,
        "reason": order.reason,
        "parties": verdict_to_wire(order.verdict),
        "created_at": _iso(order.created_at),
        "updated_at": _iso(order.updated_at),
        "decided_at": _iso(order.decided_at),
    }


def result_message(order: Order, claim_check: ClaimCheck | None = None) -> dict[str, Any]:
    """What the envelope-results queue carries for downstream order creation.

    `claim_check` is null when `parties` is inline; otherwise `parties` is absent and the consumer reads
    the parties (a JSON list, the same shape) from the object it names (README, Claim checks)."""
    head = {"order_key": order.order_key, "dedup_id": order.order_key, "quorum": order.quorum, "reason": order.reason}
    if claim_check is not None:
        return {**head, "claim_check": claim_check.to_wire()}
    return {**head, "parties": verdict_to_wire(order.verdict), "claim_check": None}


def notice_to_wire(notice: SignerNotice) -> dict[str, Any]:
    """A pending-signature notice as the notifications queue carries it."""
    return {
        "type": "PENDING_SIGNATURE",
        "order_key": notice.order_key,
        "dedup_id": notice.dedup_id,
        "cpf": notice.cpf,
        "name": notice.contact.name,
        "email": notice.contact.email,
        "phone": notice.contact.phone,
        "on_behalf_of": [{"role": s.role.value, "document": s.document} for s in notice.on_behalf_of],
    }
