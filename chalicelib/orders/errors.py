"""Order-specific refinements of the shared error kinds."""

from __future__ import annotations

from chalicelib.errors import Conflict, Forbidden, NotFound, Rejected, ServiceUnavailable


class OrderRejected(Rejected):
    """The parametrizer or the domains service refuses the order (code says which rule)."""


class OrderNotFound(NotFound):
    """No order with that key."""

    code = "ORDER_NOT_FOUND"


class ForbiddenArea(Forbidden):
    """An area's system may create orders only for its own area."""

    code = "FORBIDDEN_AREA"


class IdempotencyConflict(Conflict):
    """The idempotency key was already used with a different body."""

    code = "IDEMPOTENCY_CONFLICT"


class IdempotencyInProgress(IdempotencyConflict):
    """The request holding this Idempotency-Key is still writing its order after our bounded wait: retry.

    Never a 503: nothing is wrong with the service, another request with the same key is mid-write."""

    code = "IDEMPOTENCY_IN_PROGRESS"


class QueueUnavailable(ServiceUnavailable):
    """The order could not be queued for processing; nothing was accepted."""

    code = "QUEUE_UNAVAILABLE"


class IdempotencyKeyTaken(Exception):
    """Raised by a repository when another request claimed the same idempotency key first."""

    def __init__(self, key: str, *, contended: bool = False) -> None:
        super().__init__(key)
        self.key = key
        self.contended = contended
        """True when the store cancelled our claim because another request was writing the same items
        at that moment (DynamoDB's `TransactionConflict`): the holder may not be visible yet."""
