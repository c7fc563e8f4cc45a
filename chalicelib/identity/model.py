"""The caller as the use cases see it: an area's system with the scopes its token grants."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TokenRejected(Exception):
    """Why a token was refused; for our logs only. Here, not beside the verifier, so the gatekeeper can catch it
    without importing PyJWT and cryptography: the queue worker and the sweeper (same package) never verify a
    token, and that import was a quarter of their cold `import app`."""


class Scope(StrEnum):
    """What a token may do; Cognito issues them as `<resource server>/<scope>` (e.g. `ame-platform/orders.read`)."""

    ORDERS_WRITE = "orders.write"
    ORDERS_READ = "orders.read"
    CREDIT_DECIDE = "credit.decide"
    CUSTOMERS_READ = "credit.customers.read"
    CUSTOMERS_WRITE = "credit.customers.write"
    POLICIES_READ = "credit.policies.read"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated area system. `area_id` comes from the area registry (configuration), never the token."""

    client_id: str
    area_id: str
    scopes: frozenset[Scope]

    def may(self, scope: Scope) -> bool:
        return scope in self.scopes
