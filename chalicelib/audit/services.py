"""Use cases of the audit trail: record a request that touched personal data; answer a data subject.

`audit_request` is what the gatekeeper calls after every answer. It reads the request and the answer
through two small protocols that Chalice's `Request` and `Response` already satisfy, so this module
imports no framework.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol

from chalicelib.api.catalog import RouteSpec
from chalicelib.audit.model import AuditRecord, ReportRequest, SubjectReport, outcome_for
from chalicelib.audit.ports import AuditLog, AuditTrail
from chalicelib.audit.subjects import subject_hash, subjects_of
from chalicelib.identity.model import Caller

MAX_AUDITED_BODY = 64 * 1024
"""The largest body a route reads (api.http.MAX_BODY_BYTES); a larger one was refused unread (413)."""
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


class RequestView(Protocol):
    """What the audit reads of a request (chalice.app.Request has it)."""

    @property
    def uri_params(self) -> Mapping[str, str] | None: ...

    @property
    def raw_body(self) -> str | bytes: ...


class ResponseView(Protocol):
    """What the audit reads of an answer (chalice.app.Response has it): the body before serialization."""

    @property
    def status_code(self) -> int: ...

    @property
    def body(self) -> object: ...


def audit_request(
    trail: AuditTrail,
    key: bytes,
    spec: RouteSpec,
    caller: Caller | None,
    request: RequestView,
    response: ResponseView,
    request_id: str | None,
    at: datetime,
    region: str,
) -> AuditRecord | None:
    """Records one personal-data request (None, and nothing written, for any other route).

    `key` is `AppKeys.audit_subject`; `caller` is None when no valid token came (a 401); `request_id` is
    API Gateway's (`request.context["requestId"]`; `chalice local` sets none: then
    `request.lambda_context.aws_request_id`); `at` is UTC. Documents are read from the path and the
    request body whatever the outcome (who was asked about is what a data subject wants to know, refused
    or not), and from the answer only when it was given (2xx). Never raises for what the request held.
    """
    if not spec.personal_data:
        return None
    status = response.status_code
    outcome = outcome_for(status)
    answer = _json(response.body) if 200 <= status < 300 else None
    documents, resource = subjects_of(spec.operation_id, request.uri_params or {}, _request_body(request), answer)
    record = AuditRecord(
        at=at.astimezone(UTC),
        request_id=request_id if request_id and _REQUEST_ID.fullmatch(request_id) else None,
        client_id=caller.client_id if caller else None,
        area_id=caller.area_id if caller else None,
        method=spec.method,
        route=spec.path,
        operation=spec.operation_id,
        action=spec.action.value,
        subjects=tuple(subject_hash(d, key) for d in documents),
        resource=resource,
        status=status,
        outcome=outcome,
        region=region,
    )
    trail.record(record)
    return record


def _request_body(request: RequestView) -> object:
    try:
        raw = request.raw_body
    except ValueError:  # Chalice encodes a text body on first read: a lone surrogate cannot be (UnicodeError)
        return None
    return _json(raw)


def _json(body: object) -> object:
    """A parsed body as is; raw JSON text parsed; anything unreadable (or too deep, or too big) as None."""
    if not isinstance(body, str | bytes):
        return body
    if not body or len(body) > MAX_AUDITED_BODY:
        return None
    try:
        parsed: object = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return parsed


def subject_report(log: AuditLog, key: bytes, request: ReportRequest) -> SubjectReport:
    """Every recorded access to the subject's data in the period, newest first, each once (the log pipeline
    delivers at least once, so a record may be stored twice). `key` must be the one the records were hashed
    with (`AppKeys.audit_subject` of the same application secret)."""
    subject = subject_hash(request.document, key)
    unique = dict.fromkeys(log.records_for(subject, request.since, request.until))
    return SubjectReport(request, subject, tuple(sorted(unique, key=lambda r: r.at, reverse=True)))
