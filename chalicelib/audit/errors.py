"""What can go wrong reading the audit trail or asking it a question."""

from __future__ import annotations

from chalicelib.errors import ValidationFailed


class InvalidReportRequest(ValidationFailed):
    """A data subject's report was asked with an invalid document or date."""

    code = "INVALID_REPORT_REQUEST"


class UnreadableAuditRecord(ValueError):
    """A line or object in the audit log is not an audit record this code can read."""
