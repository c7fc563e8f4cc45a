"""An audit record and what a data subject's report holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chalicelib.documents import Document

AUDIT_KIND = "audit"
RECORD_VERSION = 1


class Outcome(StrEnum):
    """How the request ended, from its status alone (the audit trail sees only the answer):

    - allowed: 2xx/3xx, the route ran and answered;
    - denied: 401 or 403, the gatekeeper (no valid token, no scope) or tenancy (another area) refused it;
    - failed: any other status, i.e. 4xx refused as invalid or not found, 5xx not completed.

    An order of another area answers 404 ORDER_NOT_FOUND exactly as a missing one, so it is `failed`
    here too: its record still names the client, its area and the order key it asked for.
    """

    ALLOWED = "allowed"
    DENIED = "denied"
    FAILED = "failed"


def outcome_for(status: int) -> Outcome:
    if 200 <= status < 400:
        return Outcome.ALLOWED
    if status in (401, 403):
        return Outcome.DENIED
    return Outcome.FAILED


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One request that read or changed personal data. Holds no clear identifier: the people it touched
    are `subjects`, keyed hashes of their CPF/CNPJ (`subjects.subject_hash`)."""

    at: datetime
    """UTC."""
    request_id: str | None
    client_id: str | None
    """None only when the request carried no valid token."""
    area_id: str | None
    method: str
    route: str
    """The route template (`/v1/customers/{cpf}`), never the path that was asked for."""
    operation: str
    action: str
    subjects: tuple[str, ...]
    resource: str | None
    """The order key or decision id the request addressed or created."""
    status: int
    outcome: Outcome
    region: str

    def concerns(self, subject: str, since: datetime | None, until: datetime | None) -> bool:
        """Names `subject` and happened in `since <= at < until` (an open end when None)."""
        return subject in self.subjects and (since is None or self.at >= since) and (until is None or self.at < until)


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """A data subject's question: every access to their data from `since` (included) to `until` (excluded)."""

    document: Document
    since: datetime | None
    until: datetime | None

    @property
    def masked_document(self) -> str:
        return f"{self.document.KIND} {self.document.masked}"


@dataclass(frozen=True, slots=True)
class SubjectReport:
    request: ReportRequest
    subject: str
    """The keyed hash the records name the subject by."""
    records: tuple[AuditRecord, ...]
    """Newest first."""

    @property
    def clients(self) -> frozenset[str]:
        return frozenset(r.client_id or "-" for r in self.records)

    @property
    def areas(self) -> frozenset[str]:
        return frozenset(r.area_id or "-" for r in self.records)
