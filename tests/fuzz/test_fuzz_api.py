"""schemathesis against the running local stack: thousands of requests generated from the published
document (`GET /v1/openapi.json`), valid and invalid (its examples, coverage and fuzzing phases), sent
with a token holding every scope. Every answer must be documented (status, content type, headers, body
schema), never a 5xx other than a documented 503, never a stack trace; a request the document calls
invalid must be refused. `make fuzz` runs this suite
alone; the counts by status are printed at the end (`fuzz counts by status`)."""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis import APIOperation, Case
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from chalicelib.api.catalog import ROUTES
from chalicelib.documents import Cnpj, Cpf
from devstack import demo_data as demo
from devstack.stack import LocalStack
from tests.fuzz.conftest import TALLY, FuzzCaller

pytestmark = pytest.mark.fuzz

MIN_REQUESTS = 5_000
EXAMPLES_PER_OPERATION = int(os.environ.get("AME_FUZZ_EXAMPLES", "750"))
"""Hypothesis examples per operation in the fuzzing phase (the examples and coverage phases add their
own). Three operations take no input and are done after a handful, so the other seven carry the total."""

Operation = APIOperation[Any, Any, Any, Any]
TRACE = re.compile(r'Traceback \(most recent call last\)|File "[^"]+", line [0-9]+')


@schemathesis.check
def no_stack_trace(ctx: CheckContext, response: schemathesis.Response, case: Case[Operation]) -> bool | None:
    """Nothing of the service's insides leaves it, whatever the status."""
    if TRACE.search(response.text_lossy()):
        raise AssertionError(f"a stack trace in a {response.status_code} answer")
    return None


CHECKS = [
    not_a_server_error,  # 503 allowed by the config below; status_code_conformance then requires it documented
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,  # what the document calls invalid is refused: its schemas are no looser than the parsers
    no_stack_trace,
]


def _masked_cpf(digits: str) -> str:
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def _masked_cnpj(digits: str) -> str:
    return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"


def _valid(kind: type[Cpf] | type[Cnpj], known: list[str]) -> st.SearchStrategy[str]:
    base = st.from_regex(f"[0-9]{{{kind.LENGTH - 2}}}", fullmatch=True).filter(lambda digits: len(set(digits)) > 1)
    return st.sampled_from(known) | base.map(lambda digits: kind.from_base(digits).digits)


CPFS = _valid(Cpf, [person.cpf for person in demo.PEOPLE])
CNPJS = _valid(Cnpj, [company.cnpj for company in demo.COMPANIES])

# The document's `format`s: valid numbers (the demo people and companies, whom the partners and the bureau
# know, and any other), bare or masked, so requests the document calls valid get past the check digits.
schemathesis.openapi.format("cpf", CPFS | CPFS.map(_masked_cpf))
schemathesis.openapi.format("cpf-or-cnpj", CPFS | CNPJS | CPFS.map(_masked_cpf) | CNPJS.map(_masked_cnpj))

FOUND: collections.Counter[tuple[str, int]] = collections.Counter()
"""(operation, status) of the reads sent with a key the API issued."""
ISSUED: dict[str, list[str]] = {"order_key": [], "decision_id": []}
"""Keys the API answered with (202 orders, 201 decisions): half the valid reads use one, so they find a
stored order (decided, by then) or decision and its answer is checked against the document too."""


@pytest.fixture(scope="session")
def api_schema(fuzz_stack: LocalStack) -> OpenApiSchema:
    config = schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": EXAMPLES_PER_OPERATION},
            "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]}},
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        }
    )
    return schemathesis.openapi.from_url(f"{fuzz_stack.api_url}/v1/openapi.json", config=config, timeout=10)


@pytest.fixture(scope="session")
def http(fuzz_caller: FuzzCaller) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {fuzz_caller.token}"
        yield session


schema = schemathesis.pytest.from_fixture("api_schema").include(operation_id=[spec.operation_id for spec in ROUTES])
"""Every operation by name: schemathesis leaves out the one that served the document unless a filter names it."""


@schema.parametrize()
def test_every_answer_keeps_the_published_contract(
    case: Case[Operation], http: requests.Session, fuzz_caller: FuzzCaller
) -> None:
    operation = str(case.operation.definition.raw["operationId"])
    reused = aim_at_what_exists(case, operation, fuzz_caller.area_id)
    response = case.call(session=http, timeout=15)
    TALLY[(operation, response.status_code)] += 1
    if reused:
        FOUND[(operation, response.status_code)] += 1
    case.validate_response(response, checks=CHECKS)
    if (operation, response.status_code) in (("createOrder", 202), ("decideCredit", 201)):
        body = response.json()
        ISSUED["order_key" if operation == "createOrder" else "decision_id"].append(
            body.get("order_key") or body["decision_id"]
        )


def aim_at_what_exists(case: Case[Operation], operation: str, area_id: str) -> bool:
    """Valid orders are the caller's own area's (else all 403 FORBIDDEN_AREA before the partners); half the
    valid reads by key use a key the API issued (True then). Invalid requests are sent as generated."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY):
        return False
    if operation == "createOrder" and isinstance(case.body, dict) and "area_id" in case.body:
        case.body["area_id"] = area_id
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
        return False
    for name, issued in ISSUED.items():
        generated = case.path_parameters.get(name)
        if issued and isinstance(generated, str) and re.fullmatch(r"[a-z]{3}_[0-9a-f]{32}", generated):
            pick = int(generated[-8:], 16)  # the generated key chooses, so a replay sends the same one
            if pick % 2 == 0:
                case.path_parameters[name] = issued[pick // 2 % len(issued)]
                return True
    return False


def test_the_fuzzer_sent_enough_requests_to_every_operation() -> None:
    sent = {spec.operation_id: sum(n for (op, _), n in TALLY.items() if op == spec.operation_id) for spec in ROUTES}
    assert all(sent.values()), f"operations never called: {[op for op, n in sent.items() if not n]}"
    assert sum(sent.values()) >= MIN_REQUESTS, f"only {sum(sent.values())} requests: {sent}"
    assert FOUND[("getOrder", 200)] and FOUND[("getCreditDecision", 200)], f"reads of issued keys: {dict(FOUND)}"
