"""Untrusted input (a JSON body, headers, a path, or a stored request) validated into commands and values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chalicelib.documents import InvalidDocument, parse_document
from chalicelib.errors import InvalidDocumentError, ValidationFailed
from chalicelib.money import parse_money
from chalicelib.orders.errors import OrderNotFound
from chalicelib.orders.model import OrderRequest, PartyRef
from chalicelib.orders.services import CreateOrder
from chalicelib.payloads import json_object, reject_unknown
from chalicelib.quorum.model import PartyType, Role

MAX_GUARANTORS = 20
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_CODE_FIELDS = ("area_id", "product", "power_code", "platform", "signature_method")
_ALLOWED_FIELDS = frozenset({*_CODE_FIELDS, "amount", "requester", "guarantors"})
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")
_ORDER_KEY = re.compile(r"ord_[0-9a-f]{32}")
"""Patterns here are fullmatched: `$` would let a trailing newline through."""


def parse_create_order(body: Any, headers: Mapping[str, str]) -> CreateOrder:
    return CreateOrder(parse_order_request(body), parse_idempotency_key(headers))


def parse_idempotency_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("idempotency-key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ValidationFailed("Idempotency-Key must be 1-128 visible ASCII characters", field="Idempotency-Key")
    return key


def parse_order_key(raw: str) -> str:
    """A key we could never have issued is simply not found (and never reaches the table)."""
    if not _ORDER_KEY.fullmatch(raw):
        raise OrderNotFound(f"order '{raw[:40]}' not found")
    return raw


def parse_order_request(body: Any) -> OrderRequest:
    body = json_object(body)
    reject_unknown(body, _ALLOWED_FIELDS)
    codes = {name: _code(body, name) for name in _CODE_FIELDS}
    guarantors = body.get("guarantors", [])
    if not isinstance(guarantors, list) or len(guarantors) > MAX_GUARANTORS:
        raise ValidationFailed(f"guarantors must be a list of at most {MAX_GUARANTORS}", field="guarantors")
    request = OrderRequest(
        amount=parse_money(body.get("amount"), "amount"),
        requester=_party(body.get("requester"), Role.REQUESTER, "requester"),
        guarantors=tuple(_party(g, Role.GUARANTOR, f"guarantors[{i}]") for i, g in enumerate(guarantors)),
        **codes,
    )
    seen: set[str] = set()
    for index, party in enumerate(request.parties):
        if party.document.digits in seen:
            where = "requester" if index == 0 else f"guarantors[{index - 1}]"
            raise ValidationFailed("the same document appears twice in the order", field=f"{where}.document")
        seen.add(party.document.digits)
    return request


def _code(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise ValidationFailed(f"{name} is required: 1-64 letters, digits, '_', '-' or '.'", field=name)
    return value


def _party(value: Any, role: Role, where: str) -> PartyRef:
    if not isinstance(value, dict) or not isinstance(value.get("document"), str):
        raise ValidationFailed(f"{where}.document is required", field=f"{where}.document")
    reject_unknown(value, ("document", "type"), where)
    try:
        document = parse_document(value["document"])
    except InvalidDocument as exc:
        raise InvalidDocumentError(str(exc), field=f"{where}.document") from None
    party = PartyRef(role, document)
    declared = value.get("type")
    if declared is not None and declared not in (t.value for t in PartyType):
        raise ValidationFailed(f"{where}.type must be PJ or PF", field=f"{where}.type")
    if declared is not None and declared != party.type.value:
        raise ValidationFailed(f"{where}.type does not match the document", field=f"{where}.type")
    return party
