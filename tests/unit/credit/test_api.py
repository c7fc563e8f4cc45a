"""Credit routes over fake ports: status codes, error fields, pagination."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.credit.model import BureauScore
from tests.unit.builders import cpf
from tests.unit.tokens import SignedClient, signed

CPF = cpf(3)


@pytest.fixture
def client(chalice_module: ModuleType, container: bootstrap.Container) -> Iterator[SignedClient]:
    today = container.credit.clock().date()  # the decision's own clock decides whether the score is fresh
    container.credit.bureau.scores[CPF] = BureauScore(870, today - timedelta(days=1))  # type: ignore[attr-defined]
    with signed(chalice_module) as c:
        yield c


def send(client: SignedClient, method: str, path: str, body: Any) -> Any:
    call = getattr(client.http, method)
    return call(path, headers={"Content-Type": "application/json"}, body=json.dumps(body))


def decision_body(**overrides: Any) -> dict[str, Any]:
    body = {"cpf": CPF, "amount": "20000.00", "term_months": 24, "product": "PERSONAL_LOAN"}
    return {**body, **overrides}


def test_profile_round_trip(client: SignedClient) -> None:
    response = send(client, "put", f"/v1/customers/{CPF}", {"monthly_income": "8000.00", "existing_debts": "0"})
    assert response.status_code == 200 and response.json_body["existing_debts"] == "0.00"
    assert client.http.get(f"/v1/customers/{CPF}").json_body["monthly_income"] == "8000.00"


def test_decision_is_created_then_readable_and_listed(client: SignedClient) -> None:
    send(client, "put", f"/v1/customers/{CPF}", {"monthly_income": "8000.00", "existing_debts": "1200.00"})
    created = send(client, "post", "/v1/credit/decisions", decision_body())
    assert created.status_code == 201
    decision = created.json_body
    assert decision["outcome"] == "APPROVED" and decision["risk_band"] == "A"
    assert created.headers["Location"] == f"/v1/credit/decisions/{decision['decision_id']}"
    assert client.http.get(f"/v1/credit/decisions/{decision['decision_id']}").json_body == decision
    send(client, "post", "/v1/credit/decisions", decision_body(amount="1000.00"))
    page = client.http.get(f"/v1/customers/{CPF}/decisions?limit=1").json_body
    assert page["items"][0]["application"]["amount"] == "1000.00" and page["next_cursor"]
    rest = client.http.get(f"/v1/customers/{CPF}/decisions?limit=1&cursor={page['next_cursor']}").json_body
    assert rest["items"] == [decision] and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (decision_body(cpf="123.456.789-00"), 400, "INVALID_DOCUMENT", "cpf"),
        (decision_body(amount="-5.00"), 400, "VALIDATION_ERROR", "amount"),
        (decision_body(amount="0.00"), 400, "VALIDATION_ERROR", "amount"),
        (decision_body(amount="999999999999.00"), 400, "VALIDATION_ERROR", "amount"),
        (decision_body(amount=500), 400, "VALIDATION_ERROR", "amount"),
        (decision_body(term_months=0), 400, "VALIDATION_ERROR", "term_months"),
        (decision_body(term_months="12"), 400, "VALIDATION_ERROR", "term_months"),
        (decision_body(product="personal loan"), 400, "VALIDATION_ERROR", "product"),
        (decision_body(monthly_income="-1"), 400, "VALIDATION_ERROR", "monthly_income"),
        (decision_body(colour="red"), 400, "VALIDATION_ERROR", "colour"),
        (
            decision_body(product="YACHT_LOAN", monthly_income="1.00", existing_debts="0"),
            422,
            "UNKNOWN_PRODUCT",
            "product",
        ),
        (decision_body(), 422, "CUSTOMER_PROFILE_REQUIRED", "monthly_income"),
    ],
)
def test_bad_decision_requests_name_the_field(
    client: SignedClient, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    response = send(client, "post", "/v1/credit/decisions", body)
    assert response.status_code == status
    assert (response.json_body["error"]["code"], response.json_body["error"]["field"]) == (code, field)


def test_unknown_things_are_404_and_bad_paths_400(client: SignedClient) -> None:
    assert client.http.get(f"/v1/customers/{CPF}").json_body["error"]["code"] == "CUSTOMER_NOT_FOUND"
    assert client.http.get("/v1/credit/decisions/dec_" + "0" * 32).status_code == 404
    assert client.http.get("/v1/credit/decisions/nope").status_code == 404
    assert client.http.get("/v1/customers/12345/decisions").json_body["error"]["code"] == "INVALID_DOCUMENT"
    assert client.http.get(f"/v1/customers/{CPF}/decisions?limit=0").json_body["error"]["field"] == "limit"


def test_active_policy_is_published_with_its_hash(client: SignedClient) -> None:
    policy = client.http.get("/v1/credit/policies/active").json_body
    assert policy["id"] == "retail-personal-credit" and policy["hash"].startswith("sha256:")
    assert policy["document"]["bands"][0]["band"] == "A"
