from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chalicelib.errors import InvalidDocumentError, ValidationFailed
from chalicelib.orders.requests import parse_order_request
from chalicelib.orders.wire import request_to_wire
from chalicelib.quorum.model import PartyType
from devstack.demo_data import ACME, HELENA, order_body


def test_valid_body_parses_with_masked_documents_and_decimal_amount() -> None:
    masked = f"{ACME.cnpj[:2]}.{ACME.cnpj[2:5]}.{ACME.cnpj[5:8]}/{ACME.cnpj[8:12]}-{ACME.cnpj[12:]}"
    request = parse_order_request(order_body(masked, HELENA.cpf, amount="150000.5"))
    assert request.amount == Decimal("150000.50")
    assert request.requester.document.digits == ACME.cnpj
    assert [p.type for p in request.parties] == [PartyType.PJ, PartyType.PF]


def test_stored_form_parses_back_to_the_same_request() -> None:
    request = parse_order_request(order_body(ACME.cnpj, HELENA.cpf))
    assert parse_order_request(request_to_wire(request)) == request


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 150000.0}, "amount"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "1e5"}, "amount"),
        ({"area_id": ""}, "area_id"),
        ({"area_id": None}, "area_id"),
        ({"platform": "BANK LINE"}, "platform"),
        ({"product": 7}, "product"),
        ({"guarantors": "nope"}, "guarantors"),
        ({"requester": {}}, "requester.document"),
        ({"requester": {"document": ACME.cnpj, "type": "PF"}}, "requester.type"),
        ({"requester": {"document": ACME.cnpj, "type": "XX"}}, "requester.type"),
        ({"requester": {"document": ACME.cnpj, "nickname": "x"}}, "requester.nickname"),
        ({"colour": "blue"}, "colour"),
        ({"guarantors": [{"document": ACME.cnpj}]}, "guarantors[0].document"),
    ],
)
def test_bad_fields_are_rejected_with_the_field_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_order_request({**order_body(ACME.cnpj), **change})
    assert error.value.field == field
    assert error.value.code == "VALIDATION_ERROR"


def test_bad_check_digits_are_an_invalid_document() -> None:
    with pytest.raises(InvalidDocumentError) as error:
        parse_order_request(order_body(ACME.cnpj, "529.982.247-24"))
    assert (error.value.code, error.value.field) == ("INVALID_DOCUMENT", "guarantors[0].document")


@pytest.mark.parametrize("body", [None, [], "order", 42])
def test_non_object_bodies_are_rejected(body: Any) -> None:
    with pytest.raises(ValidationFailed):
        parse_order_request(body)


def test_too_many_guarantors_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_order_request({**order_body(ACME.cnpj), "guarantors": [{"document": HELENA.cpf}] * 21})
    assert error.value.field == "guarantors"
