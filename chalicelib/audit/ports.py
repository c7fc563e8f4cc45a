"""Where audit records go, and where a data subject's report reads them back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime

from chalicelib.audit.model import AuditRecord


class AuditTrail(ABC):
    """Written once per personal-data request, after its answer. Must not add a synchronous write to
    storage to the request (in AWS: a log line that a subscription carries to the audit bucket), and
    must not raise: the answer was already given."""

    @abstractmethod
    def record(self, record: AuditRecord) -> None: ...


class AuditLog(ABC):
    """The records written so far (a local file, the audit bucket)."""

    unreadable: int = 0
    """Lines or log events seen so far that held no readable audit record (a torn write, say)."""

    @abstractmethod
    def records_for(self, subject: str, since: datetime | None, until: datetime | None) -> Iterator[AuditRecord]:
        """Every record that names `subject` (a subject hash) with `since <= at < until`, in no particular order."""
