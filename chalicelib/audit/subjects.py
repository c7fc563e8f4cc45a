"""Whose data a request touched, as keyed hashes of their documents.

A subject is hashed from the digits of its CPF or CNPJ alone, so `700.000.002-30` and `70000000230`
are one person, and only ASCII digits count: a `²` or a fullwidth digit is not a second spelling of a
document (it is no document at all). Only documents that pass their check digits are subjects: an
invalid one identifies nobody, and the request that sent it was refused anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator, Mapping

from chalicelib.documents import Cnpj, Cpf, Document, InvalidDocument, parse_document

SUBJECT_HASH_LENGTH = 22
"""132 bits of an HMAC-SHA256, base64url: short enough to read, far too long to collide."""

_SEPARATORS = re.compile(r"[.\-/\s]")
_ASCII_DOCUMENT = re.compile(r"[0-9]{11}|[0-9]{14}")
_RESOURCE = re.compile(r"(ord|dec)_[0-9a-f]{32}")


def document_digits(raw: str) -> str:
    """The digits a CPF (11) or CNPJ (14) is hashed from; InvalidDocument when it is neither."""
    digits = _SEPARATORS.sub("", raw) if isinstance(raw, str) else ""
    if not _ASCII_DOCUMENT.fullmatch(digits):
        raise InvalidDocument("document must be a CPF (11 digits) or a CNPJ (14 digits), digits 0-9 only")
    return digits


def subject_hash(document: str | Document, key: bytes) -> str:
    """HMAC-SHA256(key, digits-only document), base64url without padding, its first 22 characters."""
    digits = document.digits if isinstance(document, Cpf | Cnpj) else document_digits(document)
    mac = hmac.new(key, digits.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")[:SUBJECT_HASH_LENGTH]


Touched = tuple[tuple[str, ...], str | None]
"""The valid documents (digits only, each once, in order of appearance) and the resource (order key or
decision id) a request touched."""

_Extractor = Callable[[Mapping[str, str], object, object], tuple[Iterable[object], object]]


def _customer(path: Mapping[str, str], _request: object, _answer: object) -> tuple[Iterable[object], object]:
    return [path.get("cpf")], None


def _decide_credit(_path: Mapping[str, str], request: object, answer: object) -> tuple[Iterable[object], object]:
    return [_field(request, "cpf"), _field(answer, "cpf")], _field(answer, "decision_id")


def _get_credit_decision(path: Mapping[str, str], _request: object, answer: object) -> tuple[Iterable[object], object]:
    return [_field(answer, "cpf")], path.get("decision_id")


def _create_order(_path: Mapping[str, str], request: object, answer: object) -> tuple[Iterable[object], object]:
    parties = [_field(request, "requester"), *_items(_field(request, "guarantors"))]
    return [_field(party, "document") for party in parties], _field(answer, "order_key")


def _get_order(path: Mapping[str, str], _request: object, answer: object) -> tuple[Iterable[object], object]:
    return _order_documents(answer), path.get("order_key")


def _order_documents(answer: object) -> Iterator[object]:
    """Every party's document and every participant's CPF (the people who sign for a company)."""
    for party in _items(_field(answer, "parties")):
        yield _field(party, "document")
        for participant in _items(_field(party, "participants")):
            yield _field(participant, "cpf")


EXTRACTORS: Mapping[str, _Extractor] = {
    "putCustomer": _customer,
    "getCustomer": _customer,
    "listCustomerDecisions": _customer,
    "decideCredit": _decide_credit,
    "getCreditDecision": _get_credit_decision,
    "createOrder": _create_order,
    "getOrder": _get_order,
}
"""By catalog operation id: where each personal-data route carries the documents it touches."""


def subjects_of(
    operation_id: str, path_params: Mapping[str, str], request_body: object, response_body: object
) -> Touched:
    """What a request touched, read from its path, its JSON body and its JSON answer (None when there is
    none, or it was not JSON). Never raises: whatever is malformed simply touched nobody."""
    extractor = EXTRACTORS.get(operation_id)
    if extractor is None:
        return (), None
    candidates, resource = extractor(path_params, request_body, response_body)
    documents = dict.fromkeys(d for d in (_valid_digits(c) for c in candidates) if d is not None)
    return tuple(documents), resource if isinstance(resource, str) and _RESOURCE.fullmatch(resource) else None


def _valid_digits(candidate: object) -> str | None:
    if not isinstance(candidate, str):
        return None
    try:
        return parse_document(document_digits(candidate)).digits
    except InvalidDocument:
        return None


def _field(value: object, name: str) -> object:
    return value.get(name) if isinstance(value, dict) else None


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []
