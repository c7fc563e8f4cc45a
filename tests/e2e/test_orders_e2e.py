"""HTTP against `chalice local` + the queue worker: every verdict and error code, end to end."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
import pytest
import requests

from devstack import demo_data as demo
from devstack.permissions import ADMIN_KEY
from devstack.stack import LocalStack, claim_check_bucket
from tests.e2e.conftest import auth, auth_for_order, leaked_personal_data

pytestmark = pytest.mark.e2e


def post(stack: LocalStack, body: dict[str, Any], key: str | None = None) -> requests.Response:
    """As a system of the order's own area (so every area's rejection is reachable)."""
    headers = {"Idempotency-Key": key, **auth_for_order(stack, body)} if key else auth_for_order(stack, body)
    return requests.post(f"{stack.api_url}/v1/orders", json=body, headers=headers, timeout=10)


def decided(stack: LocalStack, order_key: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        order: dict[str, Any] = requests.get(
            f"{stack.api_url}/v1/orders/{order_key}", headers=auth(stack), timeout=5
        ).json()
        if order["status"] != "PROCESSING":
            return order
        time.sleep(0.1)
    raise AssertionError(f"{order_key} still PROCESSING after {timeout}s")


def submit(stack: LocalStack, *documents: str, **overrides: Any) -> dict[str, Any]:
    response = post(stack, demo.order_body(*documents, **overrides))
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/v1/orders/{response.json()['order_key']}"
    return decided(stack, response.json()["order_key"])


def test_health(stack: LocalStack) -> None:
    assert requests.get(f"{stack.api_url}/v1/health", timeout=5).json() == {
        "status": "ok",
        "region": "us-east-1",
        "role": "primary",
    }


def test_quorum_met_explains_every_participant(stack: LocalStack) -> None:
    order = submit(stack, demo.ACME.cnpj)
    assert (order["status"], order["quorum"], order["reason"]) == ("QUORUM_MET", True, None)
    (party,) = order["parties"]
    assert party["satisfied_rules"] == ["ADMIN-ALONE", "TWO-DIRECTORS"]
    assert party["signer_sets"] == [[demo.ANA.cpf], sorted([demo.BRUNO.cpf, demo.CARLA.cpf])]
    assert party["signer_sets_total"] == 2
    by_cpf = {p["cpf"]: p for p in party["participants"]}
    assert by_cpf[demo.ANA.cpf]["email"] == demo.ANA.email and by_cpf[demo.ANA.cpf]["enabled"]
    expected = {
        demo.DIEGO.cpf: (True, ["AMOUNT_LIMIT"]),
        demo.ELISA.cpf: (True, ["VALIDITY"]),
        demo.GABRIELA.cpf: (True, ["SIGNATURE_METHOD"]),
        demo.UNKNOWN_PERSON: (True, ["UNKNOWN_RESERVATION", "NOT_IN_APPLICABLE_RULE"]),  # a PROXY: no rule uses it
        demo.FABIO.cpf: (False, ["NO_OPERATOR"]),
        demo.JULIA.cpf: (False, ["NO_ACCOUNT_ACCESS"]),
    }
    for cpf, (reservation, reasons) in expected.items():
        assert (by_cpf[cpf]["enabled"], by_cpf[cpf]["reservation"], by_cpf[cpf]["disabled_reasons"]) == (
            False,
            reservation,
            reasons,
        )
    assert by_cpf[demo.ELISA.cpf]["name"] == demo.ELISA.name  # reserved people still get their data


def test_rule_ceiling_changes_who_must_sign(stack: LocalStack) -> None:
    order = submit(stack, demo.ACME.cnpj, amount="2000000.00")
    assert order["parties"][0]["satisfied_rules"] == ["TWO-DIRECTORS"]
    assert order["parties"][0]["signer_sets"] == [sorted([demo.BRUNO.cpf, demo.CARLA.cpf])]


@pytest.mark.parametrize(
    ("documents", "reason"),
    [
        ((demo.NO_REPS.cnpj,), "NO_REPRESENTATIVES"),
        ((demo.ALL_RESERVED.cnpj,), "NO_ENABLED_REPRESENTATIVES"),
        ((demo.NO_OPERATOR.cnpj,), "NO_ACTIVE_OPERATOR"),
        ((demo.NO_RULE.cnpj,), "NO_RULE_SATISFIED"),
        ((demo.IGOR.cpf,), "NO_ACTIVE_OPERATOR"),
        ((demo.ACME.cnpj, demo.GUARANTOR_CO.cnpj, demo.IGOR.cpf), "NO_ACTIVE_OPERATOR"),
    ],
)
def test_every_no_quorum_reason_is_reachable(stack: LocalStack, documents: tuple[str, ...], reason: str) -> None:
    order = submit(stack, *documents)
    assert (order["status"], order["quorum"], order["reason"]) == ("NO_QUORUM", False, reason)
    assert [p["document"] for p in order["parties"]] == list(documents)


def test_person_requester_with_company_guarantor_has_quorum(stack: LocalStack) -> None:
    order = submit(stack, demo.HELENA.cpf, demo.GUARANTOR_CO.cnpj)
    assert order["status"] == "QUORUM_MET"
    assert [(p["role"], p["type"], p["signer_sets"]) for p in order["parties"]] == [
        ("REQUESTER", "PF", [[demo.HELENA.cpf]]),
        ("GUARANTOR", "PJ", [[demo.JULIA.cpf]]),
    ]


def test_a_partner_that_keeps_failing_ends_failed(stack: LocalStack) -> None:
    response = post(stack, demo.order_body(demo.FLAKY.cnpj))
    assert response.status_code == 202, response.text
    order = decided(stack, response.json()["order_key"], timeout=30)
    assert (order["status"], order["quorum"], order["reason"]) == ("FAILED", None, "PARTNER_UNAVAILABLE")


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"area_id": "AREA-NOPE"}, 422, "AREA_NOT_FOUND"),
        ({"area_id": "AREA-LEGACY"}, 422, "AREA_INACTIVE"),
        ({"platform": "TELEX"}, 422, "PLATFORM_NOT_ALLOWED"),
        ({"signature_method": "PHYSICAL"}, 422, "SIGNATURE_METHOD_NOT_ALLOWED"),
        ({"amount": "5000000.01"}, 422, "AMOUNT_ABOVE_LIMIT"),
        ({"product": "OLD-LEASING"}, 422, "UNKNOWN_PRODUCT"),
        ({"power_code": "SIGN_EVERYTHING"}, 422, "UNKNOWN_POWER"),
        ({"area_id": demo.UNAVAILABLE_AREA}, 503, "PARTNER_UNAVAILABLE"),
        ({"amount": 10}, 400, "VALIDATION_ERROR"),
        ({"requester": {"document": "11.111.111/0001-00"}}, 400, "INVALID_DOCUMENT"),
    ],
)
def test_every_rejection_code_is_reachable(
    stack: LocalStack, overrides: dict[str, Any], status: int, code: str
) -> None:
    response = post(stack, {**demo.order_body(demo.ACME.cnpj), **overrides})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_malformed_json_is_a_400_not_a_500(stack: LocalStack) -> None:
    headers = {"Content-Type": "application/json", **auth(stack)}
    response = requests.post(f"{stack.api_url}/v1/orders", data="{oops", headers=headers, timeout=5)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "VALIDATION_ERROR")


def test_idempotency_over_http(stack: LocalStack) -> None:
    key = str(uuid.uuid4())
    first = post(stack, demo.order_body(demo.ACME.cnpj), key)
    again = post(stack, demo.order_body(demo.ACME.cnpj), key)
    conflict = post(stack, demo.order_body(demo.ACME.cnpj, amount="1.00"), key)
    assert (first.status_code, again.status_code, conflict.status_code) == (202, 202, 409)
    assert again.json()["order_key"] == first.json()["order_key"]


def test_unknown_order_is_404(stack: LocalStack) -> None:
    response = requests.get(f"{stack.api_url}/v1/orders/ord_{'0' * 32}", headers=auth(stack), timeout=5)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "ORDER_NOT_FOUND")


def test_logs_never_show_personal_data(stack: LocalStack) -> None:
    submit(stack, demo.ACME.cnpj, demo.HELENA.cpf)
    assert leaked_personal_data(stack) == []


def test_a_2000_representative_company_decides_by_claim_check_and_reads_back_whole(stack: LocalStack) -> None:
    # GIVEN the demo company of 2,000 directors, decided by the worker running as its own IAM user
    response = post(stack, demo.order_body(demo.LARGE_COMPANY.cnpj))
    assert response.status_code == 202, response.text
    order = decided(stack, response.json()["order_key"], timeout=120)
    # THEN the API (its own IAM user too) returns every participant, read from the claim-check bucket
    assert order["status"] == "QUORUM_MET"
    (party,) = order["parties"]
    assert len(party["participants"]) == demo.LARGE_COMPANY_SIZE
    assert party["signers"] == sorted(p.cpf for p in demo.LARGE_COMPANY_PEOPLE[:2])
    # AND the verdict sits in this region's bucket under the order's key
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=stack.aws_url,
        aws_access_key_id=ADMIN_KEY,
        aws_secret_access_key=ADMIN_KEY,
    )
    listed = s3.list_objects_v2(Bucket=claim_check_bucket("us-east-1"), Prefix=f"orders/{order['order_key']}/")
    assert [o["Key"].rsplit("/", 1)[1][:8] for o in listed.get("Contents", [])] == ["parties-"]
