"""In-memory audit trail and log that subclass the real ports."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from chalicelib.audit.model import AuditRecord
from chalicelib.audit.ports import AuditLog, AuditTrail
from chalicelib.audit.wire import record_to_line


class FakeAuditTrail(AuditTrail):
    """Keeps each record and the exact line the real trail would print for it."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []
        self.lines: list[str] = []

    def record(self, record: AuditRecord) -> None:
        self.records.append(record)
        self.lines.append(record_to_line(record))


class FakeAuditLog(AuditLog):
    def __init__(self, records: Iterable[AuditRecord]) -> None:
        self.records = list(records)

    def records_for(self, subject: str, since: datetime | None, until: datetime | None) -> Iterator[AuditRecord]:
        return (r for r in self.records if r.concerns(subject, since, until))
