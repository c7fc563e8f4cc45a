"""A data subject's report request (an operator types it) validated into a query."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from chalicelib.audit.errors import InvalidReportRequest
from chalicelib.audit.model import ReportRequest
from chalicelib.audit.subjects import document_digits
from chalicelib.documents import InvalidDocument, parse_document

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_report_request(document: str, since: str | None, until: str | None) -> ReportRequest:
    """A CPF or CNPJ (formatted or digits only; check digits verified); `since` and `until` are UTC days
    (YYYY-MM-DD), both included."""
    try:
        parsed = parse_document(document_digits(document))
    except InvalidDocument as exc:
        raise InvalidReportRequest(f"invalid document: {exc}", field="document") from None
    start = _day(since, "since")
    end = _day(until, "until")
    if start and end and end < start:
        raise InvalidReportRequest("until is before since", field="until")
    return ReportRequest(parsed, since=start, until=end + timedelta(days=1) if end else None)


def _day(raw: str | None, name: str) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        if not _DAY.fullmatch(raw):
            raise ValueError(raw)
        return datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
    except ValueError:
        raise InvalidReportRequest(f"{name} must be a day as YYYY-MM-DD", field=name) from None
