"""Errors a caller can act on, shared by every area; each carries a stable machine-readable code.

The HTTP layer maps the *kind* (the base class) to a status; areas subclass a kind to fix
their own code (e.g. OrderNotFound is a NotFound with code ORDER_NOT_FOUND).
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `code` is the API error code, `field` the offending input when known."""

    code = "ERROR"

    def __init__(self, message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class ValidationFailed(DomainError):
    """The request is malformed or incomplete."""

    code = "VALIDATION_ERROR"


class InvalidCursor(ValidationFailed):
    """A pagination cursor this API did not issue for this query (forged, edited, truncated, another's)."""

    code = "INVALID_CURSOR"


class PayloadTooLarge(DomainError):
    """The request body is over the size the API reads."""

    code = "PAYLOAD_TOO_LARGE"


class InvalidDocumentError(DomainError):
    """A CPF or CNPJ fails check-digit validation."""

    code = "INVALID_DOCUMENT"


class NotFound(DomainError):
    """The addressed resource does not exist."""

    code = "NOT_FOUND"


class Conflict(DomainError):
    """The request contradicts an earlier one."""

    code = "CONFLICT"


class Rejected(DomainError):
    """Well-formed, but a business rule refuses it (the code says which)."""

    code = "REJECTED"


class PartnerUnavailable(DomainError):
    """A partner service timed out or answered 5xx: transient, worth retrying."""

    code = "PARTNER_UNAVAILABLE"

    def __init__(self, partner: str, detail: str = "") -> None:
        super().__init__(f"partner service '{partner}' is unavailable")
        self.partner = partner
        self.detail = detail


class PartnerCircuitOpen(PartnerUnavailable):
    """The partner's circuit breaker is open: not called at all, failed at once."""

    code = "PARTNER_CIRCUIT_OPEN"

    def __init__(self, partner: str) -> None:
        super().__init__(partner, "circuit open: failing fast after repeated failures")


PARTNER_FAILURE_CODES = (PartnerUnavailable.code, PartnerCircuitOpen.code)
"""The reasons a FAILED order names when a partner failed it; its `failure_detail` names the partner."""


class ServiceUnavailable(DomainError):
    """One of our own dependencies failed; nothing was accepted."""

    code = "SERVICE_UNAVAILABLE"


class RegionFenced(ServiceUnavailable):
    """This is the primary and the standby has taken over: it refuses writes so one region writes a key."""

    code = "REGION_FENCED"


class DependencyUnavailable(ServiceUnavailable):
    """`/v1/health`: DynamoDB or SQS did not answer in time; the message names which."""

    code = "DEPENDENCY_UNAVAILABLE"


class Unauthenticated(DomainError):
    """No valid bearer token: who is calling is unknown."""

    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    """The caller is known but may not do this (the code says why: a scope, another area)."""

    code = "FORBIDDEN"
