"""JSON shapes shared by the API, the stored result and the published messages.

Documents are digits only; money is a decimal string; times are ISO-8601 UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.orders.model import Order
from chalicelib.quorum.model import OrderVerdict, Participant, PartyVerdict


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
        "signers": list(v.signers),
    }


def verdict_to_wire(verdict: OrderVerdict) -> list[dict[str, Any]]:
    return [party_to_wire(p) for p in verdict.parties]


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def order_to_wire(order: Order) -> dict[str, Any]:
    return {
        "order_key": order.order_key,
        "status": order.status.value,
        "quorum": order.quorum,
        "reason": order.reason,
        "parties": list(order.parties),
        "created_at": _iso(order.created_at),
        "updated_at": _iso(order.updated_at),
        "decided_at": _iso(order.decided_at),
    }


def result_message(order: Order) -> dict[str, Any]:
    """What the envelope-results queue carries for downstream order creation."""
    return {
        "order_key": order.order_key,
        "quorum": order.quorum,
        "reason": order.reason,
        "parties": list(order.parties),
    }


def signer_notifications(order: Order) -> list[tuple[str, dict[str, Any]]]:
    """One pending-signature notice per signer (a person signing for two parties gets one)."""
    notices: dict[str, dict[str, Any]] = {}
    for party in order.parties:
        contacts = {p["cpf"]: p for p in party["participants"]}
        for cpf in party.get("signers", []):
            notice = notices.setdefault(
                cpf,
                {
                    "type": "PENDING_SIGNATURE",
                    "order_key": order.order_key,
                    "cpf": cpf,
                    "name": contacts[cpf]["name"],
                    "email": contacts[cpf]["email"],
                    "phone": contacts[cpf]["phone"],
                    "on_behalf_of": [],
                },
            )
            notice["on_behalf_of"].append({"role": party["role"], "document": party["document"]})
    return [(f"{order.order_key}:{cpf}", notice) for cpf, notice in sorted(notices.items())]
