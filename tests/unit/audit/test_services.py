"""audit_request: one record per personal-data request, naming whom it touched by keyed hashes only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.app import Request, Response

from chalicelib.api.catalog import ROUTES, RouteSpec
from chalicelib.audit.model import AuditRecord, Outcome, ReportRequest, outcome_for
from chalicelib.audit.services import audit_request, subject_report
from chalicelib.audit.subjects import subject_hash
from chalicelib.documents import Cnpj, Cpf
from chalicelib.identity.model import Caller, Scope
from chalicelib.keys import AppKeys
from chalicelib.logs import mask
from chalicelib.orders.wire import order_to_wire
from devstack.mask import AUDIT_LINE_START
from tests.unit.audit.fakes import FakeAuditLog, FakeAuditTrail
from tests.unit.builders import cnpj, cpf
from tests.unit.credit.test_services import World as CreditWorld
from tests.unit.test_services import CO, body, two_directors

KEY = AppKeys.from_secret(b"a test secret of at least thirty-two bytes").audit_subject
AT = datetime(2026, 11, 22, 12, 0, 5, tzinfo=UTC)
CALLER = Caller("credit-analysis", "AREA-CREDIT", frozenset(Scope))


def spec(operation_id: str) -> RouteSpec:
    return next(s for s in ROUTES if s.operation_id == operation_id)


def chalice_request(route: RouteSpec, path: dict[str, str] | None = None, raw_body: str | None = None) -> Request:
    """A request as Chalice builds it for the gatekeeper (the real class: the protocols must fit it)."""
    return Request(
        {
            "multiValueQueryStringParameters": None,
            "headers": {"content-type": "application/json"},
            "pathParameters": path,
            "requestContext": {"httpMethod": route.method, "resourcePath": route.path, "requestId": "req-1"},
            "body": raw_body,
            "isBase64Encoded": False,
            "stageVariables": None,
        }
    )


def audit(
    operation_id: str,
    path: dict[str, str] | None = None,
    request_body: Any = None,
    status: int = 200,
    answer: Any = None,
    caller: Caller | None = CALLER,
    request_id: str | None = "req-1",
) -> tuple[AuditRecord | None, FakeAuditTrail]:
    trail = FakeAuditTrail()
    raw = request_body if isinstance(request_body, str | None) else json.dumps(request_body)
    request = chalice_request(spec(operation_id), path, raw)
    response = Response(answer, status_code=status)
    record = audit_request(trail, KEY, spec(operation_id), caller, request, response, request_id, AT, "sa-east-1")
    return record, trail


def formatted_cpf(digits: str) -> str:
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def formatted_cnpj(digits: str) -> str:
    return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"


def clear_identifiers_in(line: str) -> list[str]:
    """What the log mask would take for a CPF or CNPJ (it masks those wherever they are glued)."""
    masked = mask(line)
    return [kind for kind in ("[CPF]", "[CNPJ]") if kind in masked]


@dataclass(frozen=True)
class Case:
    operation: str
    path: dict[str, str] | None
    request_body: Any
    status: int
    answer: Any
    touched: set[str]
    resource: str | None


def credit_cases() -> list[Case]:
    world = CreditWorld()
    decision = world.decide()
    person = decision["cpf"]
    profile = {"cpf": person, "monthly_income": "8000.00", "existing_debts": "0.00", "updated_at": AT.isoformat()}
    decision_id = decision["decision_id"]
    decide_body = {"cpf": formatted_cpf(person), "amount": "20000.00", "term_months": 24, "product": "PERSONAL_LOAN"}
    return [
        Case("putCustomer", {"cpf": person}, {"monthly_income": "8000.00"}, 200, profile, {person}, None),
        Case("getCustomer", {"cpf": formatted_cpf(person)}, None, 200, profile, {person}, None),
        Case("listCustomerDecisions", {"cpf": person}, None, 200, {"items": [decision]}, {person}, None),
        Case("decideCredit", None, decide_body, 201, decision, {person}, decision_id),
        Case("getCreditDecision", {"decision_id": decision_id}, None, 200, decision, {person}, decision_id),
    ]


def order_cases() -> list[Case]:
    world = two_directors()
    guarantors = [{"document": formatted_cpf(cpf(9))}, {"document": cnpj(2)}]
    created = body(requester={"document": formatted_cnpj(CO)}, guarantors=guarantors)
    accepted = {"order_key": "ord_" + "ab" * 16, "status": "PROCESSING"}
    key = world.create(body(guarantors=[{"document": cpf(9)}])).order_key
    decided = order_to_wire(world.assemble(key))
    everyone = {CO, cpf(1), cpf(2), cpf(3), cpf(9)}  # the company, its three directors, the guarantor
    return [
        Case("createOrder", None, created, 202, accepted, {CO, cpf(9), cnpj(2)}, accepted["order_key"]),
        Case("getOrder", {"order_key": key}, None, 200, decided, everyone, key),
    ]


CASES = credit_cases() + order_cases()


def test_every_personal_data_route_of_the_catalog_is_covered_here() -> None:
    assert {c.operation for c in CASES} == {s.operation_id for s in ROUTES if s.personal_data}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.operation)
def test_each_personal_data_request_records_who_did_what_to_whom(case: Case) -> None:
    # GIVEN an answered request of a personal-data route
    # WHEN the gatekeeper audits it
    record, trail = audit(case.operation, case.path, case.request_body, case.status, case.answer)
    # THEN one record names the caller, the route template, and each person touched once, by hash
    assert record is not None and trail.records == [record]
    route = spec(case.operation)
    assert (record.client_id, record.area_id, record.method, record.route) == (
        "credit-analysis",
        "AREA-CREDIT",
        route.method,
        route.path,
    )
    assert (record.operation, record.action, record.status, record.outcome) == (
        case.operation,
        route.action.value,
        case.status,
        Outcome.ALLOWED,
    )
    assert sorted(record.subjects) == sorted(subject_hash(d, KEY) for d in case.touched)
    assert record.resource == case.resource
    assert (record.at, record.request_id, record.region) == (AT, "req-1", "sa-east-1")
    # AND the line it prints holds no clear identifier of anyone
    (line,) = trail.lines
    assert clear_identifiers_in(line) == []
    assert not [d for d in case.touched if d in line]
    assert "@" not in line and f'"route":"{route.path}"' in line


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.operation)
def test_each_person_touched_can_find_the_access_in_their_report(case: Case) -> None:
    record, _ = audit(case.operation, case.path, case.request_body, case.status, case.answer)
    assert record is not None
    log = FakeAuditLog([record])
    for document in case.touched:
        parsed = Cpf.parse(document) if len(document) == 11 else Cnpj.parse(document)
        report = subject_report(log, KEY, ReportRequest(parsed, since=None, until=None))
        assert report.records == (record,)
    stranger = subject_report(log, KEY, ReportRequest(Cpf.parse(cpf(77)), None, None))
    assert stranger.records == ()


def test_the_printed_line_is_the_contracts_compact_json() -> None:
    _, trail = audit("getCustomer", {"cpf": cpf(1)}, answer={"cpf": cpf(1)})
    (line,) = trail.lines
    assert line.encode().startswith(AUDIT_LINE_START) and "\n" not in line and ", " not in line
    assert list(json.loads(line)) == [
        "kind",
        "version",
        "at",
        "request_id",
        "client_id",
        "area_id",
        "method",
        "route",
        "operation",
        "action",
        "subjects",
        "resource",
        "status",
        "outcome",
        "region",
    ]
    assert json.loads(line)["at"] == "2026-11-22T12:00:05.000+00:00"


@pytest.mark.parametrize("operation", [s.operation_id for s in ROUTES if not s.personal_data])
def test_routes_without_personal_data_are_not_audited(operation: str) -> None:
    record, trail = audit(operation, answer={"status": "ok"})
    assert record is None and trail.records == []


def test_a_caller_refused_a_scope_is_recorded_as_denied_with_whom_it_asked_about() -> None:
    # GIVEN a client without credit.decide asking for a decision on a person
    refused = {"error": {"code": "FORBIDDEN", "message": "the token does not grant this operation"}}
    record, _ = audit("decideCredit", request_body={"cpf": cpf(1), "amount": "10.00"}, status=403, answer=refused)
    # THEN the person learns of the attempt: denied, no resource
    assert record is not None
    assert (record.outcome, record.subjects, record.resource) == (Outcome.DENIED, (subject_hash(cpf(1), KEY),), None)


def test_a_request_without_a_valid_token_names_no_client() -> None:
    record, _ = audit("getCustomer", {"cpf": cpf(1)}, status=401, answer={"error": {}}, caller=None)
    assert record is not None
    assert (record.client_id, record.area_id, record.outcome) == (None, None, Outcome.DENIED)
    assert record.subjects == (subject_hash(cpf(1), KEY),)


def test_another_areas_order_is_a_failed_read_that_names_the_key_and_no_one() -> None:
    # GIVEN an area asking for an order of another area (answered exactly as a missing one)
    key = "ord_" + "cd" * 16
    not_found = {"error": {"code": "ORDER_NOT_FOUND", "message": f"order '{key}' not found"}}
    record, _ = audit("getOrder", {"order_key": key}, status=404, answer=not_found)
    # THEN the record keeps who asked for which key; no person's data was disclosed
    assert record is not None
    assert (record.outcome, record.subjects, record.resource) == (Outcome.FAILED, (), key)


def test_an_error_answer_is_not_read_for_subjects() -> None:
    answer = {"cpf": cpf(2), "error": {"code": "X"}}  # whatever an error body holds, it disclosed nobody
    record, _ = audit("getCreditDecision", {"decision_id": "dec_" + "0" * 32}, status=404, answer=answer)
    assert record is not None and record.subjects == ()


def test_one_person_has_one_subject_however_the_document_is_written() -> None:
    spellings = [cpf(1), formatted_cpf(cpf(1)), f" {formatted_cpf(cpf(1))} "]
    subjects = {audit("getCustomer", {"cpf": s})[0].subjects for s in spellings}  # type: ignore[union-attr]
    assert subjects == {(subject_hash(cpf(1), KEY),)}


FULLWIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))


@pytest.mark.parametrize(
    "path",
    [
        {"cpf": cpf(1).translate(FULLWIDTH)},  # the same digits, another script: not a second identity
        {"cpf": cpf(1)[:-1] + "²"},
        {"cpf": cpf(1)[:-1] + "0" if cpf(1)[-1] != "0" else cpf(1)[:-1] + "1"},  # wrong check digit
        {"cpf": "11111111111"},
        {},
    ],
)
def test_what_is_not_a_valid_document_names_nobody(path: dict[str, str]) -> None:
    record, trail = audit("getCustomer", path, status=400, answer={"error": {"code": "INVALID_DOCUMENT"}})
    assert record is not None and record.subjects == () and record.outcome is Outcome.FAILED
    assert clear_identifiers_in(trail.lines[0]) == []


@pytest.mark.parametrize(
    "raw_body",
    ["[" * 100_000, "{not json", '{"cpf": 70000000230}', '"a string"', "\udcff", "", '{"requester": []}'],
)
def test_a_body_that_is_not_what_the_route_reads_names_nobody_and_never_raises(raw_body: str) -> None:
    for operation in ("decideCredit", "createOrder"):
        record, _ = audit(operation, request_body=raw_body, status=400, answer={"error": {}})
        assert record is not None and record.subjects == ()


def test_a_body_larger_than_any_route_reads_is_not_parsed() -> None:
    huge = json.dumps({"cpf": cpf(1), "pad": "x" * 70_000})
    record, _ = audit("decideCredit", request_body=huge, status=413, answer={"error": {}})
    assert record is not None and record.subjects == ()


def test_only_keys_we_issue_are_recorded_as_resources() -> None:
    # GIVEN order keys and decision ids that could carry anything, a CPF included
    for operation, name in (("getOrder", "order_key"), ("getCreditDecision", "decision_id")):
        for value in (cpf(1), "ord_" + "A" * 32, "dec_" + "0" * 31, "ord_" + "0" * 32 + "x"):
            record, trail = audit(operation, {name: value}, status=404, answer={"error": {}})
            # THEN none of them is recorded
            assert record is not None and record.resource is None
            assert cpf(1) not in trail.lines[0]


@pytest.mark.parametrize("request_id", [f"x {cpf(1)}", "a\nb", "x" * 129, ""])
def test_a_request_id_that_is_not_one_is_dropped(request_id: str) -> None:
    record, _ = audit("getCustomer", {"cpf": cpf(1)}, request_id=request_id)
    assert record is not None and record.request_id is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        *[(status, "allowed") for status in (200, 201, 202, 304)],
        *[(status, "denied") for status in (401, 403)],
        *[(status, "failed") for status in (400, 404, 409, 413, 422, 503)],
    ],
)
def test_the_outcome_follows_the_status(status: int, outcome: str) -> None:
    assert outcome_for(status) == Outcome(outcome)
