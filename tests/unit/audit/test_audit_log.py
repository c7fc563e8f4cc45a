"""The stdout trail prints the contract's line as is, whatever the app's logging does around it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.audit_log import AUDIT_LOGGER, StdoutAuditTrail
from chalicelib.audit.model import AuditRecord, Outcome
from chalicelib.audit.wire import record_from_wire, record_to_line
from chalicelib.logs import configure_logging


@pytest.fixture
def app_logging() -> Iterator[None]:
    """The app's logging as bootstrap sets it up (JSON formatter and mask on the root's handlers), undone after."""
    root = logging.getLogger()
    saved = (root.level, [(h, h.formatter, list(h.filters)) for h in root.handlers])
    configure_logging("WARNING")
    yield
    root.setLevel(saved[0])
    for handler, formatter, filters in saved[1]:
        handler.setFormatter(formatter)
        handler.filters = filters


def record(at: datetime) -> AuditRecord:
    return AuditRecord(
        at=at,
        request_id="req-1",
        client_id="credit-analysis",
        area_id="AREA-CREDIT",
        method="GET",
        route="/v1/customers/{cpf}",
        operation="getCustomer",
        action="read",
        subjects=("Xw3-0_hEv2PgmTLr3Q9rZA",),
        resource=None,
        status=200,
        outcome=Outcome.ALLOWED,
        region="us-east-1",
    )


@pytest.mark.usefixtures("app_logging")
def test_each_record_is_one_raw_json_line_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the app's logging configured at WARNING (audit records are INFO) and a trail
    trail = StdoutAuditTrail()
    first, second = record(datetime(2026, 11, 22, 12, 0, tzinfo=UTC)), record(datetime(2026, 11, 22, 12, 1, tzinfo=UTC))
    # WHEN two records are written
    trail.record(first)
    trail.record(second)
    # THEN stdout holds exactly their lines: no JSON wrapper, no mask, nothing on the root logger
    out, err = capsys.readouterr()
    assert out == record_to_line(first) + "\n" + record_to_line(second) + "\n"
    assert [record_from_wire(json.loads(line)) for line in out.splitlines()] == [first, second]
    assert err == "" and not logging.getLogger(AUDIT_LOGGER).propagate


def test_building_trails_twice_installs_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    StdoutAuditTrail()
    StdoutAuditTrail().record(record(datetime(2026, 11, 22, 12, 0, tzinfo=UTC)))
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert [type(h).__name__ for h in logging.getLogger(AUDIT_LOGGER).handlers].count("_LineToStdout") == 1


def test_the_app_gets_one_stdout_trail_and_tests_can_replace_it() -> None:
    from chalicelib import bootstrap
    from tests.unit.audit.fakes import FakeAuditTrail

    assert isinstance(bootstrap.audit_trail(), StdoutAuditTrail) and bootstrap.audit_trail() is bootstrap.audit_trail()
    fake = FakeAuditTrail()
    bootstrap.use_audit_trail(fake)
    try:
        assert bootstrap.audit_trail() is fake
    finally:
        bootstrap.use_audit_trail(None)
    assert isinstance(bootstrap.audit_trail(), StdoutAuditTrail)
