"""Credit decisions over HTTP against `chalice local`, the simulator's bureau and moto."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from devstack import demo_data as demo
from devstack.stack import LocalStack
from tests.e2e.conftest import auth, leaked_personal_data

pytestmark = pytest.mark.e2e


def decide(stack: LocalStack, person: demo.DemoPerson, **overrides: Any) -> requests.Response:
    body = {
        "cpf": person.cpf,
        "amount": "20000.00",
        "term_months": 24,
        "product": "PERSONAL_LOAN",
        "monthly_income": "8000.00",
        "existing_debts": "1200.00",
    }
    url = f"{stack.api_url}/v1/credit/decisions"
    return requests.post(url, json={**body, **overrides}, headers=auth(stack), timeout=10)


@contextmanager
def bureau_down(stack: LocalStack, person: demo.DemoPerson) -> Iterator[None]:
    url = f"{stack.partners_url}/__sim/bureau/{person.cpf}"
    requests.put(url, json={"mode": "down"}, timeout=5)
    try:
        yield
    finally:
        requests.put(url, json={"mode": "up"}, timeout=5)


@pytest.mark.parametrize(
    ("person", "band", "outcome"),
    [(demo.ANA, "A", "APPROVED"), (demo.BRUNO, "B", "APPROVED"), (demo.CARLA, "C", "APPROVED")],
)
def test_bands_through_the_api(stack: LocalStack, person: demo.DemoPerson, band: str, outcome: str) -> None:
    response = decide(stack, person)
    assert response.status_code == 201
    decision = response.json()
    assert (decision["risk_band"], decision["outcome"], decision["approved_amount"]) == (band, outcome, "20000.00")
    assert decision["policy"]["id"] == "retail-personal-credit"
    stored = requests.get(f"{stack.api_url}{response.headers['Location']}", headers=auth(stack), timeout=5).json()
    assert stored == decision


@pytest.mark.parametrize(
    ("person", "overrides", "code"),
    [
        (demo.ELISA, {}, "SCORE_BELOW_MINIMUM"),
        (demo.ANA, {"monthly_income": "0.00"}, "NO_INCOME"),
        (demo.ANA, {"amount": "100.00"}, "AMOUNT_OUT_OF_RANGE"),
        (demo.ANA, {"term_months": 96}, "TERM_OUT_OF_RANGE"),
        (demo.BRUNO, {"existing_debts": "3500.00"}, "DEBT_TO_INCOME_TOO_HIGH"),
        (demo.BRUNO, {"existing_debts": "2000.00"}, "DEBT_TO_INCOME_ELEVATED"),
        (demo.BRUNO, {"amount": "70000.00", "term_months": 72}, "AMOUNT_ABOVE_APPROVAL_LIMIT"),
        (demo.GABRIELA, {}, "STALE_SCORE"),
        (demo.DIEGO, {"amount": "5000.00", "term_months": 48}, "LONG_TERM_HIGH_RISK"),
        (
            demo.BRUNO,
            {"amount": "160000.00", "monthly_income": "60000.00", "term_months": 72},
            "HIGH_EXPOSURE_BELOW_PRIME",
        ),
        (demo.NO_SCORE_PERSON, {}, "NO_SCORE"),
    ],
)
def test_every_reason_code_is_reachable_through_the_api(
    stack: LocalStack, person: demo.DemoPerson, overrides: dict[str, Any], code: str
) -> None:
    decision = decide(stack, person, **overrides).json()
    assert code in [r["code"] for r in decision["reasons"]]
    assert decision["outcome"] in ("REVIEW", "REFUSED")


def test_bureau_outage_uses_the_stored_score(stack: LocalStack) -> None:
    first = decide(stack, demo.HELENA).json()
    assert first["application"]["score_source"] == "BUREAU"
    with bureau_down(stack, demo.HELENA):
        again = decide(stack, demo.HELENA).json()
    assert (again["application"]["score_source"], again["score"]) == ("STORED", first["score"])


def test_bureau_outage_without_a_stored_score_is_review_not_500(stack: LocalStack) -> None:
    with bureau_down(stack, demo.IGOR):
        response = decide(stack, demo.IGOR)
    assert response.status_code == 201
    assert [r["code"] for r in response.json()["reasons"]] == ["BUREAU_UNAVAILABLE"]


def test_profile_history_and_policy_endpoints(stack: LocalStack) -> None:
    person = demo.JULIA.cpf
    headers = auth(stack)
    put = requests.put(
        f"{stack.api_url}/v1/customers/{person}",
        json={"monthly_income": "12000.00", "existing_debts": "500.00"},
        headers=headers,
        timeout=5,
    )
    assert put.status_code == 200
    body = {"cpf": person, "amount": "1000.00", "term_months": 12, "product": "PERSONAL_LOAN"}
    url = f"{stack.api_url}/v1/credit/decisions"
    made = [requests.post(url, json=body, headers=headers, timeout=10).json() for _ in range(3)]
    assert all(d["application"]["monthly_income"] == "12000.00" for d in made)
    history = f"{stack.api_url}/v1/customers/{person}/decisions?limit=2"
    page = requests.get(history, headers=headers, timeout=5).json()
    rest = requests.get(f"{history}&cursor={page['next_cursor']}", headers=headers, timeout=5).json()
    listed = [d["decision_id"] for d in page["items"] + rest["items"]]
    assert listed == [d["decision_id"] for d in reversed(made)]
    policy = requests.get(f"{stack.api_url}/v1/credit/policies/active", headers=headers, timeout=5).json()
    assert policy["hash"] == made[0]["policy"]["hash"]


def test_bad_credit_input_is_400_with_the_field(stack: LocalStack) -> None:
    response = decide(stack, demo.ANA, term_months=0)
    assert (response.status_code, response.json()["error"]["field"]) == (400, "term_months")


def test_credit_logs_never_show_personal_data(stack: LocalStack) -> None:
    requests.put(
        f"{stack.api_url}/v1/customers/{demo.KAIO.cpf}",
        json={"monthly_income": "5000.00", "existing_debts": "0.00"},
        headers=auth(stack),
        timeout=5,
    )
    requests.get(f"{stack.api_url}/v1/customers/{demo.KAIO.cpf}/decisions", headers=auth(stack), timeout=5)
    decide(stack, demo.ANA)
    assert leaked_personal_data(stack) == []
