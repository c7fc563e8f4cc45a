"""Errors a caller can act on; each carries a stable machine-readable code."""

from __future__ import annotations


class OrderError(Exception):
    """Base class: `code` is the API error code, `field` the offending input when known."""

    code = "ORDER_ERROR"

    def __init__(self, message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class ValidationFailed(OrderError):
    """The request body is malformed or incomplete."""

    code = "VALIDATION_ERROR"


class InvalidDocumentError(OrderError):
    """A CPF or CNPJ in the request fails check-digit validation."""

    code = "INVALID_DOCUMENT"


class OrderRejected(OrderError):
    """The parametrizer or the domains service refuses the order (code says which rule)."""


class OrderNotFound(OrderError):
    """No order with that key."""

    code = "ORDER_NOT_FOUND"


class IdempotencyConflict(OrderError):
    """The idempotency key was already used with a different body."""

    code = "IDEMPOTENCY_CONFLICT"


class PartnerUnavailable(OrderError):
    """A partner service timed out or answered 5xx: transient, worth retrying."""

    code = "PARTNER_UNAVAILABLE"

    def __init__(self, partner: str, detail: str = "") -> None:
        super().__init__(f"partner service '{partner}' is unavailable")
        self.partner = partner
        self.detail = detail


class QueueUnavailable(OrderError):
    """The order could not be queued for processing; nothing was accepted."""

    code = "QUEUE_UNAVAILABLE"


class IdempotencyKeyTaken(Exception):
    """Raised by a repository when another request claimed the same idempotency key first."""
