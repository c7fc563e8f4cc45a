"""A data subject's report: the request validated, the records read back, the answer printed without
anyone else's identifier."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chalicelib.audit.errors import InvalidReportRequest, UnreadableAuditRecord
from chalicelib.audit.model import AuditRecord, Outcome
from chalicelib.audit.requests import parse_report_request
from chalicelib.audit.services import subject_report
from chalicelib.audit.subjects import subject_hash
from chalicelib.audit.wire import record_from_wire, record_to_wire, report_to_wire
from chalicelib.commands.audit_report import render
from chalicelib.keys import AppKeys
from tests.unit.audit.fakes import FakeAuditLog
from tests.unit.builders import cnpj, cpf

KEY = AppKeys.from_secret(b"a test secret of at least thirty-two bytes").audit_subject
ME, NEIGHBOUR, COMPANY = cpf(1), cpf(2), cnpj(1)


def access(day: int, hour: int, subjects: tuple[str, ...], **overrides: object) -> AuditRecord:
    values: dict[str, object] = {
        "at": datetime(2026, 11, day, hour, 30, tzinfo=UTC),
        "request_id": f"req-{day}-{hour}",
        "client_id": "credit-analysis",
        "area_id": "AREA-CREDIT",
        "method": "GET",
        "route": "/v1/orders/{order_key}",
        "operation": "getOrder",
        "action": "read",
        "subjects": tuple(subject_hash(s, KEY) for s in subjects),
        "resource": "ord_" + "1" * 32,
        "status": 200,
        "outcome": Outcome.ALLOWED,
        "region": "us-east-1",
    }
    values.update(overrides)
    return AuditRecord(**values)  # type: ignore[arg-type]


RECORDS = [
    access(20, 9, (COMPANY, ME, NEIGHBOUR)),
    access(22, 8, (ME,), operation="getCustomer", route="/v1/customers/{cpf}", resource=None),
    access(21, 7, (NEIGHBOUR,)),
    access(22, 9, (ME,), client_id="consortium-app", area_id="AREA-CONSORTIUM", status=403, outcome=Outcome.DENIED),
]


def test_the_report_lists_the_subjects_accesses_newest_first() -> None:
    report = subject_report(FakeAuditLog(RECORDS), KEY, parse_report_request(ME, None, None))
    assert report.records == (RECORDS[3], RECORDS[1], RECORDS[0])
    assert report.clients == {"credit-analysis", "consortium-app"}
    assert report.areas == {"AREA-CREDIT", "AREA-CONSORTIUM"}


def test_the_period_includes_both_days_it_names() -> None:
    report = subject_report(FakeAuditLog(RECORDS), KEY, parse_report_request(ME, "2026-11-21", "2026-11-22"))
    assert report.records == (RECORDS[3], RECORDS[1])
    report = subject_report(FakeAuditLog(RECORDS), KEY, parse_report_request(ME, None, "2026-11-21"))
    assert report.records == (RECORDS[0],)


def test_the_printed_report_names_no_one_else() -> None:
    # GIVEN a record that also touched a neighbour and a company
    report = subject_report(FakeAuditLog(RECORDS), KEY, parse_report_request(ME, "2026-11-01", None))
    # WHEN it is printed as a table and as JSON
    printed = [render(report), json.dumps(report_to_wire(report), ensure_ascii=False)]
    # THEN neither holds another subject's hash or anyone's document, and the subject's hash only masked
    for text in printed:
        for other in (NEIGHBOUR, COMPANY):
            assert subject_hash(other, KEY) not in text and subject_hash(other, KEY)[:6] not in text
        assert ME not in text and NEIGHBOUR not in text and COMPANY not in text
        assert subject_hash(ME, KEY) not in text and subject_hash(ME, KEY)[:6] + "…" in text
    table = printed[0].splitlines()
    assert table[0] == f"subject: CPF ***.{ME[3:6]}.{ME[6:9]}-** (hash {subject_hash(ME, KEY)[:6]}…), " + (
        "from 2026-11-01 until now"
    )
    assert table[1].split(" | ") == [
        "when (UTC)         ",
        "area           ",
        "client         ",
        "operation  ",
        "action",
        "resource                            ",
        "status",
    ]
    assert [row.split(" | ")[0] for row in table[2:5]] == [
        "2026-11-22 09:30:00",
        "2026-11-22 08:30:00",
        "2026-11-20 09:30:00",
    ]
    assert table[2].endswith("| 403 denied") and " - " in table[3]
    assert table[5] == "3 accesses by 2 clients of 2 areas"
    assert json.loads(printed[1])["count"] == 3 and "subjects" not in json.loads(printed[1])["records"][0]


def test_nobody_accessed_is_said_plainly() -> None:
    report = subject_report(FakeAuditLog(RECORDS), KEY, parse_report_request(cpf(3), None, "2026-11-30"))
    assert render(report).splitlines()[-1] == "0 accesses recorded"
    assert "through 2026-11-30 (UTC)" in render(report).splitlines()[0]


@pytest.mark.parametrize(
    ("document", "since", "until", "field"),
    [
        ("70000000231", None, None, "document"),
        ("".join(chr(0xFF10 + int(d)) for d in "70000000230"), None, None, "document"),
        ("", None, None, "document"),
        (ME, "2026-13-01", None, "since"),
        (ME, "22/11/2026", None, "since"),
        (ME, None, "2026-11-22T10:00", "until"),
        (ME, "2026-11-22", "2026-11-21", "until"),
    ],
)
def test_an_invalid_request_names_the_field(document: str, since: str | None, until: str | None, field: str) -> None:
    with pytest.raises(InvalidReportRequest) as refused:
        parse_report_request(document, since, until)
    assert refused.value.field == field and "7000" not in refused.value.message


def test_a_cnpj_or_a_formatted_cpf_is_a_subject_too() -> None:
    assert parse_report_request(f"{ME[:3]}.{ME[3:6]}.{ME[6:9]}-{ME[9:]}", None, None).document.digits == ME
    assert parse_report_request(COMPANY, None, None).masked_document.startswith("CNPJ **.")


def test_a_record_reads_back_exactly() -> None:
    for record in [*RECORDS, replace(RECORDS[0], client_id=None, area_id=None, request_id=None, resource=None)]:
        assert record_from_wire(json.loads(json.dumps(record_to_wire(record)))) == record


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "log"},
        {"version": 2},
        {"at": "2026-11-22T10:00:00"},
        {"at": "yesterday"},
        {"subjects": "abc"},
        {"subjects": [1]},
        {"status": "200"},
        {"status": True},
        {"outcome": "maybe"},
        {"route": None},
    ],
)
def test_what_is_not_a_record_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(UnreadableAuditRecord):
        record_from_wire({**record_to_wire(RECORDS[0]), **change})
    missing = record_to_wire(RECORDS[0])
    del missing["region"]
    with pytest.raises(UnreadableAuditRecord):
        record_from_wire(missing)
