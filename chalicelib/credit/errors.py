"""Credit-specific refinements of the shared error kinds, and the policy document's own error."""

from __future__ import annotations

from chalicelib.errors import NotFound, Rejected, ServiceUnavailable


class CustomerNotFound(NotFound):
    """No stored profile for this customer."""

    code = "CUSTOMER_NOT_FOUND"


class DecisionNotFound(NotFound):
    """No decision with that id."""

    code = "DECISION_NOT_FOUND"


class CreditRejected(Rejected):
    """The request cannot be decided at all (unknown product, no income on file)."""


class PolicyUnavailable(ServiceUnavailable):
    """No valid policy could be loaded; deciding with a guessed policy would be worse than failing."""

    code = "POLICY_UNAVAILABLE"


class PolicyError(ValueError):
    """A policy document is invalid; `field` is the path of the offending value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
