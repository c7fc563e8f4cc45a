"""The audit record as one compact JSON line, and read back from one; the report as JSON.

Field order and names are the contract the log pipeline and the readers share:
`{"kind": "audit", "version": 1, "at", "request_id", "client_id", "area_id", "method", "route",
"operation", "action", "subjects", "resource", "status", "outcome", "region"}`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chalicelib.audit.errors import UnreadableAuditRecord
from chalicelib.audit.model import AUDIT_KIND, RECORD_VERSION, AuditRecord, Outcome, SubjectReport

MASKED_HASH_CHARACTERS = 6


def record_to_wire(record: AuditRecord) -> dict[str, Any]:
    return {
        "kind": AUDIT_KIND,
        "version": RECORD_VERSION,
        "at": record.at.astimezone(UTC).isoformat(timespec="milliseconds"),
        "request_id": record.request_id,
        "client_id": record.client_id,
        "area_id": record.area_id,
        "method": record.method,
        "route": record.route,
        "operation": record.operation,
        "action": record.action,
        "subjects": list(record.subjects),
        "resource": record.resource,
        "status": record.status,
        "outcome": record.outcome.value,
        "region": record.region,
    }


def record_to_line(record: AuditRecord) -> str:
    """One line, no spaces, ASCII only: what the API prints and every reader parses."""
    return json.dumps(record_to_wire(record), separators=(",", ":"), ensure_ascii=True)


def is_audit_wire(raw: Any) -> bool:
    return isinstance(raw, dict) and raw.get("kind") == AUDIT_KIND


def record_from_wire(raw: Any) -> AuditRecord:
    """`record_to_wire` inverted; UnreadableAuditRecord for anything else (a record of a newer version too)."""
    if not is_audit_wire(raw) or raw.get("version") != RECORD_VERSION:
        raise UnreadableAuditRecord("not an audit record of version 1")
    try:
        at = datetime.fromisoformat(raw["at"])
        subjects = raw["subjects"]
        record = AuditRecord(
            at=at.astimezone(UTC),
            request_id=_optional_text(raw["request_id"]),
            client_id=_optional_text(raw["client_id"]),
            area_id=_optional_text(raw["area_id"]),
            method=_text(raw["method"]),
            route=_text(raw["route"]),
            operation=_text(raw["operation"]),
            action=_text(raw["action"]),
            subjects=tuple(_text(s) for s in subjects) if isinstance(subjects, list) else _bad("subjects"),
            resource=_optional_text(raw["resource"]),
            status=raw["status"] if type(raw["status"]) is int else _bad("status"),
            outcome=Outcome(raw["outcome"]),
            region=_text(raw["region"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UnreadableAuditRecord(f"malformed audit record ({type(exc).__name__})") from None
    if at.tzinfo is None:
        raise UnreadableAuditRecord("audit record time has no time zone")
    return record


def _text(value: Any) -> str:
    return value if isinstance(value, str) else _bad("a text field")


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _bad(what: str) -> Any:
    raise TypeError(what)


def masked_hash(subject: str) -> str:
    """Enough of a subject hash to tell two reports apart, not enough to look it up elsewhere."""
    return subject[:MASKED_HASH_CHARACTERS] + "…"


def report_to_wire(report: SubjectReport) -> dict[str, Any]:
    """The report as `--json` prints it: who, what, when; never the other subjects a record names."""
    request = report.request
    return {
        "subject": {"document": request.masked_document, "hash": masked_hash(report.subject)},
        "since": request.since.isoformat() if request.since else None,
        "until": request.until.isoformat() if request.until else None,
        "count": len(report.records),
        "records": [
            {
                "at": r.at.isoformat(timespec="milliseconds"),
                "area_id": r.area_id,
                "client_id": r.client_id,
                "operation": r.operation,
                "method": r.method,
                "route": r.route,
                "action": r.action,
                "resource": r.resource,
                "status": r.status,
                "outcome": r.outcome.value,
                "region": r.region,
                "request_id": r.request_id,
            }
            for r in report.records
        ],
    }
