"""Input found by fuzzing that must be a clear 400, never a 500 nor a second identity for one person.

Python's str.isdigit(), int(), Decimal() and the regex class \\d accept digits of every script
(fullwidth U+FF11, Arabic-Indic U+0663, superscript U+00B2), and json.loads raises RecursionError on
deeply nested arrays; each test here failed before the parsers said "ASCII digits" explicitly.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import replace
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chalicelib import bootstrap
from chalicelib.credit.requests import parse_decision_request, parse_limit, parse_profile
from chalicelib.documents import Cnpj, Cpf, InvalidDocument, parse_document
from chalicelib.errors import DomainError, InvalidDocumentError, ValidationFailed
from chalicelib.money import parse_money
from chalicelib.orders.errors import IdempotencyConflict, IdempotencyKeyTaken
from chalicelib.orders.model import IdempotencyRecord, Order
from chalicelib.orders.requests import parse_order_request
from chalicelib.payloads import parse_cpf
from devstack.demo_data import ACME, HELENA, order_body
from tests.unit import fakes
from tests.unit.test_services import body as order_service_body
from tests.unit.test_services import two_directors
from tests.unit.tokens import SignedClient, signed

SUPERSCRIPT_TWO = "\u00b2"
CPF = "52998224725"
CNPJ = "11222333000181"
SCRIPTS = {
    "fullwidth": 0xFF10,
    "arabic-indic": 0x0660,
    "extended-arabic-indic": 0x06F0,
    "devanagari": 0x0966,
    "mathematical-bold": 0x1D7CE,
}


def in_script(digits: str, zero: int) -> str:
    return "".join(chr(zero + int(d)) if d.isascii() and d.isdigit() else d for d in digits)


def lookalikes(ascii_text: str) -> list[str]:
    """The same number in other scripts, one digit swapped, and digits int() rejects but isdigit() accepts."""
    variants = [in_script(ascii_text, zero) for zero in SCRIPTS.values()]
    first = next(i for i, c in enumerate(ascii_text) if c.isdigit())
    before, digit, after = ascii_text[:first], ascii_text[first], ascii_text[first + 1 :]
    variants.append(before + in_script(digit, SCRIPTS["arabic-indic"]) + after)
    variants.append(before + SUPERSCRIPT_TWO + after)
    return variants


# --- documents ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [*lookalikes(CPF), *lookalikes("529.982.247-25")])
def test_a_cpf_in_non_ascii_digits_is_invalid_not_a_second_identity(raw: str) -> None:
    with pytest.raises(InvalidDocument):
        Cpf.parse(raw)
    with pytest.raises(InvalidDocumentError) as error:
        parse_cpf(raw)
    assert error.value.field == "cpf"


@pytest.mark.parametrize("raw", [*lookalikes(CNPJ), *lookalikes(CPF)])
def test_parse_document_accepts_ascii_digits_only(raw: str) -> None:
    with pytest.raises(InvalidDocument):
        parse_document(raw)


@pytest.mark.parametrize("raw", [CPF + "\n", "529.982.247-25\u3000", "\u2007" + CPF])
def test_only_ascii_separators_are_tolerated(raw: str) -> None:
    with pytest.raises(InvalidDocument):
        Cpf.parse(raw)


@given(
    base=st.from_regex(r"[0-9]{9}", fullmatch=True).filter(lambda s: len(set(s)) > 1),
    position=st.integers(0, 10),
    digit=st.characters(categories=["Nd", "No"]).filter(lambda c: not c.isascii() and c.isdigit()),
)
def test_no_non_ascii_digit_anywhere_makes_a_valid_cpf(base: str, position: int, digit: str) -> None:
    digits = Cpf.from_base(base).digits
    with pytest.raises(InvalidDocument):
        Cpf.parse(digits[:position] + digit + digits[position + 1 :])


@given(
    base=st.from_regex(r"[0-9]{12}", fullmatch=True).filter(lambda s: len(set(s)) > 1),
    zero=st.sampled_from(list(SCRIPTS.values())),
)
def test_no_cnpj_in_another_script_is_valid(base: str, zero: int) -> None:
    with pytest.raises(InvalidDocument):
        Cnpj.parse(in_script(Cnpj.from_base(base).digits, zero))


# --- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [*lookalikes("1500.00"), "1500.00\n", in_script("1500", SCRIPTS["arabic-indic"])])
def test_money_is_ascii_digits_only(raw: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_money(raw, "amount")
    assert error.value.field == "amount"


@pytest.mark.parametrize("raw", [*lookalikes("20"), SUPERSCRIPT_TWO, "20\n", "+5", " 5", "0020000"])
def test_limit_is_ascii_digits_only(raw: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_limit(raw)
    assert error.value.field == "limit"


@pytest.mark.parametrize("field", ["monthly_income", "existing_debts"])
@pytest.mark.parametrize("value", lookalikes("8000.00"))
def test_profile_figures_are_ascii_digits_only(field: str, value: str) -> None:
    body = {"monthly_income": "8000.00", "existing_debts": "0.00", field: value}
    with pytest.raises(ValidationFailed) as error:
        parse_profile(CPF, body)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        *[({"cpf": v}, "cpf") for v in lookalikes(CPF)],
        *[({"amount": v}, "amount") for v in lookalikes("20000.00")],
        *[({"monthly_income": v}, "monthly_income") for v in lookalikes("8000.00")],
        *[({"existing_debts": v}, "existing_debts") for v in lookalikes("100.00")],
        *[({"term_months": v}, "term_months") for v in lookalikes("24")],
    ],
)
def test_decision_requests_name_the_non_ascii_field(change: dict[str, Any], field: str) -> None:
    body = {"cpf": CPF, "amount": "20000.00", "term_months": 24, "product": "PERSONAL_LOAN", **change}
    with pytest.raises(DomainError) as error:
        parse_decision_request(body)
    assert isinstance(error.value, ValidationFailed | InvalidDocumentError) and error.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        *[({"amount": v}, "amount") for v in lookalikes("150000.00")],
        *[({"requester": {"document": v}}, "requester.document") for v in lookalikes(ACME.cnpj)],
        *[({"guarantors": [{"document": v}]}, "guarantors[0].document") for v in lookalikes(HELENA.cpf)],
        ({"area_id": "AREA-CREDIT\n"}, "area_id"),
        ({"product": "CCB\n"}, "product"),
    ],
)
def test_order_requests_name_the_non_ascii_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(DomainError) as error:
        parse_order_request({**order_body(ACME.cnpj), **change})
    assert isinstance(error.value, ValidationFailed | InvalidDocumentError) and error.value.field == field


# --- over HTTP ---------------------------------------------------------------------------------


@pytest.fixture
def client(chalice_module: ModuleType, container: bootstrap.Container) -> Iterator[SignedClient]:
    with signed(chalice_module) as c:
        yield c


JSON_HEADERS = {"Content-Type": "application/json"}


def error_of(response: Any) -> tuple[int, str, str | None]:
    error = json.loads(response.body)["error"]
    return response.status_code, error["code"], error.get("field")


@pytest.mark.parametrize("raw", lookalikes(CPF))
def test_a_non_ascii_cpf_in_a_path_is_a_400_naming_cpf(client: SignedClient, raw: str) -> None:
    # API Gateway hands the route its path parameters decoded; chalice.test passes them through as given.
    for path in (f"/v1/customers/{raw}", f"/v1/customers/{raw}/decisions"):
        assert error_of(client.http.get(path)) == (400, "INVALID_DOCUMENT", "cpf")
    body = json.dumps({"monthly_income": "1.00", "existing_debts": "0.00"})
    put = client.http.put(f"/v1/customers/{raw}", headers=JSON_HEADERS, body=body)
    assert error_of(put) == (400, "INVALID_DOCUMENT", "cpf")


@pytest.mark.parametrize("limit", [SUPERSCRIPT_TWO, "\uff11\uff10", "\u0663"])
def test_a_non_ascii_limit_is_a_400(client: SignedClient, limit: str) -> None:
    assert error_of(client.http.get(f"/v1/customers/{CPF}/decisions?limit={quote(limit)}")) == (
        400,
        "VALIDATION_ERROR",
        "limit",
    )


NESTED = [
    "[" * 5000,
    "[" * 5000 + "]" * 5000,
    '{"a":' * 3000 + "1" + "}" * 3000,
    '{"amount": ' + "[" * 20000 + "]" * 20000 + "}",
]


@pytest.mark.parametrize("raw", NESTED)
@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/v1/orders"), ("post", "/v1/credit/decisions"), ("put", f"/v1/customers/{CPF}")],
)
def test_deeply_nested_json_is_a_400_not_a_500(client: SignedClient, method: str, path: str, raw: str) -> None:
    response = getattr(client.http, method)(path, headers=JSON_HEADERS, body=raw)
    status, code, _ = error_of(response)
    assert (status, code) == (400, "VALIDATION_ERROR")
    assert "nested" in json.loads(response.body)["error"]["message"]


# --- a quick fuzz of the parsers ---------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
ORDER_FIELDS = ("area_id", "product", "power_code", "platform", "signature_method", "amount", "requester", "guarantors")
DECISION_FIELDS = ("cpf", "amount", "term_months", "product", "monthly_income", "existing_debts")


def mutated(base: dict[str, Any], fields: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(fields), JSON_VALUES, max_size=3).map(lambda change: {**base, **change})


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(order_body(ACME.cnpj, HELENA.cpf), ORDER_FIELDS))
def test_fuzzed_order_bodies_parse_or_fail_as_a_domain_error(body: dict[str, Any]) -> None:
    with contextlib.suppress(DomainError):
        parse_order_request(body)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated({"cpf": CPF, "amount": "1.00", "term_months": 2, "product": "X_Y"}, DECISION_FIELDS))
def test_fuzzed_decision_bodies_parse_or_fail_as_a_domain_error(body: dict[str, Any]) -> None:
    with contextlib.suppress(DomainError):
        parse_decision_request(body)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    cpf=st.one_of(st.text(st.characters(exclude_characters="/?#%"), min_size=1, max_size=20), st.just(CPF)),
    limit=st.one_of(st.text(max_size=6), st.just("2")),
    cursor=st.text(max_size=80),
)
def test_fuzzed_listing_paths_and_queries_are_never_a_500(
    client: SignedClient, cpf: str, limit: str, cursor: str
) -> None:
    assume(cpf.strip() not in ("", ".", ".."))
    query = f"limit={quote(limit, safe='')}&cursor={quote(cursor, safe='')}"
    response = client.http.get(f"/v1/customers/{cpf}/decisions?{query}")
    assert response.status_code < 500, response.body


# --- an Idempotency-Key whose holder vanished between our write and our read --------------------


class VanishingClaimRepository(fakes.FakeRepository):
    """The first add() finds the key taken, and the holder is gone by the time we look (its request
    failed to queue and released the key, or its TTL passed in between)."""

    def __init__(self) -> None:
        super().__init__()
        self.lost_races = 1

    def add(self, order: Order, idempotency: IdempotencyRecord | None) -> None:
        if self.lost_races:
            self.lost_races -= 1
            raise IdempotencyKeyTaken(order.order_key)
        super().add(order, idempotency)


def test_a_key_taken_by_a_request_that_then_released_it_is_claimed_afresh() -> None:
    world = two_directors()
    world.repository = VanishingClaimRepository()
    world.service = replace(world.service, repository=world.repository)
    accepted = world.create(order_service_body(), "k-1")
    assert not accepted.replayed and accepted.order_key in world.repository.orders
    assert world.create(order_service_body(), "k-1") == replace(accepted, replayed=True)


def test_a_key_lost_on_every_attempt_is_a_409_to_retry_not_a_500() -> None:
    world = two_directors()
    world.repository = VanishingClaimRepository()
    world.repository.lost_races = world.service.idempotency_attempts
    world.service = replace(world.service, repository=world.repository)
    with pytest.raises(IdempotencyConflict) as refused:
        world.create(order_service_body(), "k-1")
    assert refused.value.code == "IDEMPOTENCY_IN_PROGRESS"
    assert world.repository.orders == {}
