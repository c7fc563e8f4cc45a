"""The audit trail over HTTP: every request that touches a person's data leaves one record, read back
from where the local stack puts them, and `audit-report` answers that person — and nobody else."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import requests

from chalicelib.audit.subjects import subject_hash
from chalicelib.documents import Cpf
from chalicelib.keys import AppKeys
from chalicelib.polling import wait_for
from devstack import demo_data as demo
from devstack.stack import LOCAL_APP_SECRET, ROOT, LocalStack
from tests.e2e.conftest import CONSORTIUM, auth, auth_for_order

pytestmark = pytest.mark.e2e

SUBJECT = Cpf.from_base("731450982").digits
"""A person no other e2e test uses, so every record about them comes from this module."""
KEY = AppKeys.from_secret(LOCAL_APP_SECRET.encode()).audit_subject


def records_about(stack: LocalStack, document: str) -> list[dict[str, Any]]:
    path = stack.config.audit_file
    lines = path.read_text().splitlines() if path.exists() else []
    hashed = subject_hash(document, KEY)
    return [record for record in map(json.loads, lines) if hashed in record["subjects"]]


def eventually(read: Callable[[], list[dict[str, Any]]], count: int, timeout: float = 10) -> list[dict[str, Any]]:
    """The stack copies audit lines from the API's output as they are printed: wait for `count` of them."""
    wait_for(lambda: len(read()) >= count, timeout)
    return read()


@pytest.fixture(scope="module")
def accesses(stack: LocalStack) -> tuple[list[requests.Response], list[dict[str, Any]]]:
    """Every kind of access to one person's data, by two areas and by nobody, and the records it left."""
    api, credit = stack.api_url, auth(stack)
    profile = {"monthly_income": "9000.00", "existing_debts": "500.00"}
    application = {"cpf": SUBJECT, "amount": "5000.00", "term_months": 12, "product": "PERSONAL_LOAN"}
    calls = [
        requests.put(f"{api}/v1/customers/{SUBJECT}", json=profile, headers=credit, timeout=10),
        requests.get(f"{api}/v1/customers/{SUBJECT}", headers=credit, timeout=10),
        requests.post(f"{api}/v1/credit/decisions", json=application, headers=credit, timeout=10),
        requests.get(f"{api}/v1/customers/{SUBJECT}/decisions", headers=credit, timeout=10),
        requests.get(f"{api}/v1/customers/{SUBJECT}", headers=auth(stack, CONSORTIUM), timeout=10),
        requests.get(f"{api}/v1/customers/{SUBJECT}", timeout=10),
    ]
    decision_id = calls[2].json()["decision_id"]
    calls.append(requests.get(f"{api}/v1/credit/decisions/{decision_id}", headers=credit, timeout=10))
    return calls, eventually(lambda: records_about(stack, SUBJECT), len(calls))


def test_each_personal_data_request_is_recorded_once_with_the_subject_hashed(
    stack: LocalStack, accesses: tuple[list[requests.Response], list[dict[str, Any]]]
) -> None:
    calls, records = accesses
    assert [c.status_code for c in calls] == [200, 200, 201, 200, 403, 401, 200]
    assert [(r["operation"], r["status"], r["outcome"]) for r in records] == [
        ("putCustomer", 200, "allowed"),
        ("getCustomer", 200, "allowed"),
        ("decideCredit", 201, "allowed"),
        ("listCustomerDecisions", 200, "allowed"),
        ("getCustomer", 403, "denied"),
        ("getCustomer", 401, "denied"),
        ("getCreditDecision", 200, "allowed"),
    ]
    assert [r["client_id"] for r in records][:5] == [*["ame-demo-credit"] * 4, "ame-demo-consortium"]
    assert records[5]["client_id"] is None and records[2]["resource"] == calls[2].json()["decision_id"]
    assert len({r["request_id"] for r in records}) == len(records)
    assert SUBJECT not in stack.config.audit_file.read_text()


def test_reading_an_order_records_every_person_it_shows(stack: LocalStack) -> None:
    body = demo.order_body(demo.ACME.cnpj)
    created = requests.post(f"{stack.api_url}/v1/orders", json=body, headers=auth_for_order(stack, body), timeout=10)
    order_key = created.json()["order_key"]

    def decided() -> dict[str, Any] | None:
        answer = requests.get(f"{stack.api_url}/v1/orders/{order_key}", headers=auth(stack), timeout=10).json()
        return answer if answer["status"] != "PROCESSING" else None

    assert wait_for(lambda: decided() is not None, 20)
    order = decided()
    assert order is not None
    shown = {p["cpf"] for party in order["parties"] for p in party["participants"]}
    assert shown, "the demo company has representatives"
    for person in shown:

        def reads_of(person: str = person) -> list[dict[str, Any]]:
            return [r for r in records_about(stack, person) if r["resource"] == order_key]

        assert {r["operation"] for r in eventually(reads_of, 2)} == {"getOrder"}


def test_the_audit_report_lists_who_accessed_one_person_and_nobody_else(
    stack: LocalStack, accesses: tuple[list[requests.Response], list[dict[str, Any]]]
) -> None:
    audit_dir = str(stack.config.audit_file.parent)
    command = [sys.executable, "-m", "chalicelib.commands.audit_report", SUBJECT, "--target", "local"]
    report = subprocess.run(
        [*command, "--audit-dir", audit_dir], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True
    ).stdout
    lines = report.splitlines()
    assert lines[0].startswith("subject: ") and SUBJECT not in report
    assert "ame-demo-consortium" in report and "(no valid token)" in report
    assert sum("putCustomer" in line for line in lines) == 1
    assert lines[-1].startswith(f"{len(accesses[1])} accesses")
    others = [p.cpf for p in demo.PEOPLE] + [c.cnpj for c in demo.COMPANIES]
    assert not [document for document in others if document in report]
