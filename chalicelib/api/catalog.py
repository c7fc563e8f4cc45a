"""Every route the API serves, with what it needs: one table read by the gatekeeper (token and scope),
the audit trail (which routes touch personal data) and the OpenAPI document (what is published).

A route that is in `app.py` but not here is refused (fail closed); a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chalicelib.identity.model import Scope


class Action(StrEnum):
    READ = "read"
    WRITE = "write"
    DECIDE = "decide"


@dataclass(frozen=True, slots=True)
class RouteSpec:
    method: str
    path: str
    """The route template as Chalice and API Gateway name it (`/v1/orders/{order_key}`)."""
    operation_id: str
    summary: str
    scope: Scope | None
    """None: public (health and the published contract only)."""
    action: Action
    personal_data: bool
    """Reads or changes personal data (CPF/CNPJ, names, contacts, income, decisions): audited."""


ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("GET", "/v1/health", "health", "Whether this region serves", None, Action.READ, False),
    RouteSpec("GET", "/v1/openapi.json", "openapi", "This API's OpenAPI 3.1 document", None, Action.READ, False),
    RouteSpec("POST", "/v1/orders", "createOrder", "Accept a signature order", Scope.ORDERS_WRITE, Action.WRITE, True),
    RouteSpec(
        "GET", "/v1/orders/{order_key}", "getOrder", "An order and its verdict", Scope.ORDERS_READ, Action.READ, True
    ),
    RouteSpec(
        "PUT",
        "/v1/customers/{cpf}",
        "putCustomer",
        "Store a customer's income and debts",
        Scope.CUSTOMERS_WRITE,
        Action.WRITE,
        True,
    ),
    RouteSpec(
        "GET", "/v1/customers/{cpf}", "getCustomer", "A customer's profile", Scope.CUSTOMERS_READ, Action.READ, True
    ),
    RouteSpec(
        "GET",
        "/v1/customers/{cpf}/decisions",
        "listCustomerDecisions",
        "A customer's credit decisions, newest first",
        Scope.CUSTOMERS_READ,
        Action.READ,
        True,
    ),
    RouteSpec(
        "POST",
        "/v1/credit/decisions",
        "decideCredit",
        "Decide a credit application",
        Scope.CREDIT_DECIDE,
        Action.DECIDE,
        True,
    ),
    RouteSpec(
        "GET",
        "/v1/credit/decisions/{decision_id}",
        "getCreditDecision",
        "A stored credit decision",
        Scope.CUSTOMERS_READ,
        Action.READ,
        True,
    ),
    RouteSpec(
        "GET",
        "/v1/credit/policies/active",
        "getActiveCreditPolicy",
        "The credit policy in force",
        Scope.POLICIES_READ,
        Action.READ,
        False,
    ),
)

_BY_ROUTE = {(spec.method, spec.path): spec for spec in ROUTES}


def route_spec(method: str, path: str) -> RouteSpec | None:
    return _BY_ROUTE.get((method.upper(), path))
