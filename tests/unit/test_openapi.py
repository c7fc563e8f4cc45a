"""The published contract (`GET /v1/openapi.json`): a valid OpenAPI 3.1 document, equal to what the app
serves, with patterns that accept exactly what the parsers accept and schemas the answers satisfy."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any
from urllib.parse import quote

import jsonschema_rs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from openapi_spec_validator import OpenAPIV31SpecValidator

from chalicelib import bootstrap
from chalicelib.api import openapi
from chalicelib.api.catalog import ROUTES
from chalicelib.credit.requests import parse_decision_id, parse_decision_request, parse_limit
from chalicelib.documents import Cnpj, Cpf, InvalidDocument, parse_document
from chalicelib.errors import DomainError
from chalicelib.money import parse_money
from chalicelib.orders.requests import parse_idempotency_key, parse_order_key, parse_order_request
from tests.unit.builders import cnpj, cpf
from tests.unit.tokens import SignedClient, signed

DOCUMENT = openapi.build_document("https://auth.example.com/oauth2/token")


def test_the_document_is_valid_openapi_3_1() -> None:
    errors = [str(e.message) for e in OpenAPIV31SpecValidator(DOCUMENT).iter_errors()]
    assert errors == []
    assert DOCUMENT["openapi"] == "3.1.0"


def test_every_route_the_app_serves_is_published_with_its_methods_and_nothing_else(chalice_module: ModuleType) -> None:
    served = {(method.lower(), path) for path, methods in chalice_module.app.routes.items() for method in methods}
    published = {(method, path) for path, item in DOCUMENT["paths"].items() for method in item}
    assert served == published
    assert len(served) == len(ROUTES)


def test_each_operation_carries_the_catalogs_id_summary_and_scope() -> None:
    for spec in ROUTES:
        operation = DOCUMENT["paths"][spec.path][spec.method.lower()]
        assert (operation["operationId"], operation["summary"]) == (spec.operation_id, spec.summary)
        expected = [] if spec.scope is None else [{"areaClient": [f"ame-platform/{spec.scope.value}"]}]
        assert operation["security"] == expected
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == set(openapi._PARAMETER.findall(spec.path))
        if spec.scope is not None:
            assert {"401", "403", "503"} <= set(operation["responses"])
            assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True


def test_the_security_scheme_is_client_credentials_with_every_scope_described() -> None:
    scheme = DOCUMENT["components"]["securitySchemes"]["areaClient"]
    flow = scheme["flows"]["clientCredentials"]
    assert scheme["type"] == "oauth2" and flow["tokenUrl"] == "https://auth.example.com/oauth2/token"
    used = {f"ame-platform/{spec.scope.value}" for spec in ROUTES if spec.scope is not None}
    assert set(flow["scopes"]) == used and all(flow["scopes"].values())


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"AME_TOKEN_URL": "https://ame.auth.us-east-1.amazoncognito.com/oauth2/token"}, "https://ame.auth."),
        ({"AME_TOKEN_ISSUERS": "http://127.0.0.1:8103/, https://other"}, "http://127.0.0.1:8103/oauth2/token"),
        ({}, "/oauth2/token"),
    ],
)
def test_the_token_url_comes_from_configuration(env: dict[str, str], url: str) -> None:
    assert openapi.token_url_from(env).startswith(url)


@pytest.fixture
def anonymous(chalice_module: ModuleType, container: bootstrap.Container) -> Iterator[Any]:
    with signed(chalice_module) as client:
        yield client.unsigned


def test_the_document_is_served_without_a_token_as_json(anonymous: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AME_TOKEN_URL", "https://auth.example.com/oauth2/token")
    response = anonymous.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == DOCUMENT


# --- the patterns accept exactly what the parsers accept ------------------------------------------

ECMA = {
    name: jsonschema_rs.validator_for({"type": "string", "pattern": p})
    for name, p in vars(openapi).items()
    if name.isupper() and isinstance(p, str) and p.startswith("^")
}
"""Every pattern, read as JSON Schema validators read it (ECMA-262: `$` is the end, never before a newline)."""


def accepts(parse: Callable[[], object]) -> bool:
    try:
        parse()
    except DomainError:
        return False
    return True


def text(alphabet: str, max_size: int = 20) -> st.SearchStrategy[str]:
    """Strings from the characters that matter, plus a trailing newline and non-ASCII digits now and then."""
    return st.text(st.sampled_from(alphabet) | st.sampled_from("\n ²１٣"), max_size=max_size)


MONEY_TEXT = text("0123456789.", 18)


@given(MONEY_TEXT)
@example("0.00")
@example("0.01")
@example("000000000000.01")
@example("1.5\n")
def test_money_patterns_are_the_money_parser(value: str) -> None:
    assert ECMA["MONEY"].is_valid(value) == accepts(lambda: parse_money(value, "amount"))
    assert ECMA["MONEY_OR_ZERO"].is_valid(value) == accepts(lambda: parse_money(value, "amount", allow_zero=True))


@given(MONEY_TEXT)
@example("100000000.00")
@example("100000000.01")
@example("0000100000000")
@example("99999999.99")
def test_the_credit_amount_pattern_is_the_decision_parser(value: str) -> None:
    body = {"cpf": cpf(1), "amount": value, "term_months": 12, "product": "PERSONAL_LOAN"}
    assert ECMA["CREDIT_AMOUNT"].is_valid(value) == accepts(lambda: parse_decision_request(body))


ORDER_FIELDS = ("area_id", "product", "power_code", "platform", "signature_method")


@given(text("aZ09_.-/ ", 70), st.sampled_from(ORDER_FIELDS))
@example("a" * 64, "product")
@example("a" * 65, "product")
@example("_a", "area_id")
def test_the_code_pattern_is_the_order_parser(value: str, name: str) -> None:
    body = dict.fromkeys(ORDER_FIELDS, "X") | {"amount": "1.00", "requester": {"document": cnpj(1)}}
    assert ECMA["CODE"].is_valid(value) == accepts(lambda: parse_order_request({**body, name: value}))


@given(text("AZaz09_ ", 70))
@example("A")
@example("AB")
@example("A" * 64)
@example("A" * 65)
def test_the_product_pattern_is_the_decision_parser(value: str) -> None:
    body = {"cpf": cpf(1), "amount": "1.00", "term_months": 12, "product": value}
    assert ECMA["PRODUCT"].is_valid(value) == accepts(lambda: parse_decision_request(body))


@given(st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é²"), max_size=140))
@example("")
@example("k" * 128)
@example("k" * 129)
def test_the_idempotency_key_pattern_is_the_header_parser(value: str) -> None:
    assert ECMA["IDEMPOTENCY_KEY"].is_valid(value) == accepts(lambda: parse_idempotency_key({"idempotency-key": value}))


@given(st.sampled_from(["ord_", "dec_", "ORD_", ""]), text("0123456789abcdefA", 34))
def test_the_key_patterns_are_the_key_parsers(prefix: str, rest: str) -> None:
    value = prefix + rest
    assert ECMA["ORDER_KEY"].is_valid(value) == accepts(lambda: parse_order_key(value))
    assert ECMA["DECISION_ID"].is_valid(value) == accepts(lambda: parse_decision_id(value))


def test_the_limit_bounds_are_the_limit_parser() -> None:
    limit = DOCUMENT["paths"]["/v1/customers/{cpf}/decisions"]["get"]["parameters"][1]["schema"]
    for value in range(-2, 104):
        assert (limit["minimum"] <= value <= limit["maximum"]) == accepts(lambda v=value: parse_limit(str(v)))  # type: ignore[misc]


def valid_cpf(base: int) -> str:
    digits = f"{base:09d}"
    return Cpf.from_base(digits).digits if len(set(digits)) > 1 else "52998224725"


def valid_cnpj(base: int) -> str:
    digits = f"{base:012d}"
    return Cnpj.from_base(digits).digits if len(set(digits)) > 1 else "11222333000181"


def spelled(digits: str, separators: list[str]) -> str:
    """`digits` with a separator string after each digit (and one before the first)."""
    return separators[0] + "".join(d + s for d, s in zip(digits, separators[1:], strict=False))


SEPARATOR_RUNS = st.lists(st.text(st.sampled_from("./ -"), max_size=2), min_size=15, max_size=15)


@given(st.integers(0, 10**9 - 1), st.integers(0, 10**12 - 1), SEPARATOR_RUNS)
@example(0, 0, ["", "", "", ".", "", "", ".", "", "", "-", "", "", "/", "", ""])
def test_every_spelling_of_a_valid_document_the_patterns_allow_is_accepted(
    cpf_base: int, cnpj_base: int, seps: list[str]
) -> None:
    person, company = spelled(valid_cpf(cpf_base), seps), spelled(valid_cnpj(cnpj_base), seps)
    assert ECMA["CPF"].is_valid(person) and ECMA["DOCUMENT"].is_valid(person) and not ECMA["CNPJ"].is_valid(person)
    assert ECMA["CNPJ"].is_valid(company) and ECMA["DOCUMENT"].is_valid(company) and not ECMA["CPF"].is_valid(company)
    assert Cpf.parse(person).digits == parse_document(person).digits == valid_cpf(cpf_base)
    assert parse_document(company).digits == valid_cnpj(cnpj_base)


@given(text("0123456789./- ", 20))
@example("529.982.247-25\n")
@example("".join(chr(0xFF10 + int(d)) for d in "52998224725"))  # fullwidth digits
def test_a_document_the_patterns_refuse_is_refused(value: str) -> None:
    """The patterns describe the spelling exactly; only the check digits (and repeated digits) are left to the API."""
    for pattern, parse in (("CPF", Cpf.parse), ("CNPJ", Cnpj.parse), ("DOCUMENT", parse_document)):
        try:
            parsed = parse(value)
        except InvalidDocument:
            continue
        assert ECMA[pattern].is_valid(value), (pattern, value)
        assert parsed.digits == re.sub("[./ -]", "", value)


def test_request_bodies_are_closed_where_the_parsers_refuse_unknown_fields() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for name in ("CreateOrderRequest", "Party", "ProfileRequest", "DecisionRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    assert schemas["CreateOrderRequest"]["properties"]["guarantors"]["maxItems"] == 20
    for operation in ("createOrder", "putCustomer", "decideCredit"):
        schema_name, example_body = openapi.REQUEST_BODIES[operation]
        assert validator(f"#/components/schemas/{schema_name}").is_valid(example_body), operation


# --- the answers match the document ---------------------------------------------------------------


def validator(pointer: str) -> jsonschema_rs.Draft202012Validator:
    """The schema at `pointer`, its references resolved in the document (whose other keys JSON Schema ignores)."""
    return jsonschema_rs.Draft202012Validator({**DOCUMENT, "$ref": pointer}, validate_formats=True)


def conform(response: Any, method: str, template: str) -> Any:
    """Asserts `response` is documented for the operation (status, content type, body, headers); returns its body."""
    operation = DOCUMENT["paths"][template][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {template}: undocumented {status}: {response.body!r}"
    assert response.headers["Content-Type"] == "application/json"
    escaped = quote(template.replace("~", "~0").replace("/", "~1"))  # a JSON pointer in a URI fragment
    body = json.loads(response.body)
    errors = validator(f"#/paths/{escaped}/{method}/responses/{status}/content/application~1json/schema")
    assert [error.message for error in errors.iter_errors(body)] == []
    for name, header in operation["responses"][status].get("headers", {}).items():
        assert header["required"] is False or name in response.headers, f"{name} missing"
    return body


@pytest.fixture
def client(chalice_module: ModuleType, container: bootstrap.Container) -> Iterator[SignedClient]:
    with signed(chalice_module) as c:
        yield c


def send(client: SignedClient, method: str, path: str, body: Any) -> Any:
    return client.http.request(
        method.upper(), path, headers={"Content-Type": "application/json"}, body=json.dumps(body)
    )


def test_every_answer_of_a_session_matches_the_document(client: SignedClient, anonymous: Any) -> None:
    person = cpf(3)
    conform(client.http.get("/v1/health"), "get", "/v1/health")
    conform(anonymous.get("/v1/openapi.json"), "get", "/v1/openapi.json")
    order = {**openapi.REQUEST_BODIES["createOrder"][1], "requester": {"document": cnpj(1)}}
    accepted = conform(send(client, "post", "/v1/orders", order), "post", "/v1/orders")
    conform(client.http.get(f"/v1/orders/{accepted['order_key']}"), "get", "/v1/orders/{order_key}")
    conform(client.http.get("/v1/orders/ord_nope"), "get", "/v1/orders/{order_key}")
    conform(send(client, "post", "/v1/orders", {**order, "colour": "red"}), "post", "/v1/orders")
    conform(send(client, "post", "/v1/orders", {**order, "area_id": "AREA-OTHER"}), "post", "/v1/orders")
    conform(anonymous.get("/v1/orders/ord_nope"), "get", "/v1/orders/{order_key}")
    profile = {"monthly_income": "8000.00", "existing_debts": "1200.00"}
    conform(client.http.get(f"/v1/customers/{person}"), "get", "/v1/customers/{cpf}")
    conform(send(client, "put", f"/v1/customers/{person}", profile), "put", "/v1/customers/{cpf}")
    conform(client.http.get(f"/v1/customers/{person}"), "get", "/v1/customers/{cpf}")
    conform(client.http.get("/v1/customers/123"), "get", "/v1/customers/{cpf}")
    decision = {"cpf": person, "amount": "20000.00", "term_months": 24, "product": "PERSONAL_LOAN"}
    created = conform(send(client, "post", "/v1/credit/decisions", decision), "post", "/v1/credit/decisions")
    conform(
        send(client, "post", "/v1/credit/decisions", {**decision, "product": "YACHT"}), "post", "/v1/credit/decisions"
    )
    read = "/v1/credit/decisions/{decision_id}"
    conform(client.http.get(f"/v1/credit/decisions/{created['decision_id']}"), "get", read)
    conform(client.http.get("/v1/credit/decisions/dec_nope"), "get", read)
    page = conform(client.http.get(f"/v1/customers/{person}/decisions?limit=1"), "get", "/v1/customers/{cpf}/decisions")
    assert page["items"] and page["next_cursor"] is None
    conform(client.http.get(f"/v1/customers/{person}/decisions?limit=0"), "get", "/v1/customers/{cpf}/decisions")
    conform(client.http.get("/v1/credit/policies/active"), "get", "/v1/credit/policies/active")
