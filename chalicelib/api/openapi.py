"""The published contract: this API's OpenAPI 3.1 document, served at `GET /v1/openapi.json`.

Paths, operation ids, summaries and scopes come from the route catalog (`api/catalog.py`), so a
route cannot be served without being published; request and response schemas live here, written
to accept exactly what the parsers in `chalicelib/*/requests.py` accept (unknown fields refused,
money as decimal strings, bounded lists) and to describe exactly what `chalicelib/*/wire.py`
answers. A unit test keeps the patterns equal to the parsers' and the paths equal to `app.py`'s;
`tests/fuzz` sends thousands of generated requests to the local stack and checks every answer
against this document.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from chalicelib.api.catalog import ROUTES, RouteSpec
from chalicelib.credit.requests import MAX_PAGE, MAX_TERM_MONTHS
from chalicelib.identity.model import Scope
from chalicelib.orders.requests import MAX_GUARANTORS
from chalicelib.settings import RESOURCE_SERVER

Schema = dict[str, Any]

SECURITY_SCHEME = "areaClient"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path, not a secret)

SCOPE_DESCRIPTIONS: Mapping[Scope, str] = {
    Scope.ORDERS_WRITE: "Place signature orders for the caller's own area",
    Scope.ORDERS_READ: "Read the caller's area's signature orders (with their signers' contacts)",
    Scope.CREDIT_DECIDE: "Decide credit applications",
    Scope.CUSTOMERS_READ: "Read customers' profiles and credit decisions",
    Scope.CUSTOMERS_WRITE: "Store customers' income and debts",
    Scope.POLICIES_READ: "Read the credit policy in force",
}

# --- patterns: ECMA-262 regular expressions, as JSON Schema reads them; ASCII digits only ----------

MONEY = r"^(?=[0-9.]*[1-9])[0-9]{1,12}(\.[0-9]{1,2})?$"
"""A positive amount: 1-12 integer digits, up to 2 decimal places (`chalicelib/money.py`)."""
MONEY_OR_ZERO = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
CREDIT_AMOUNT = r"^(?=[0-9.]*[1-9])(?=[0-9]{1,12}(\.[0-9]{1,2})?$)0*([0-9]{1,8}(\.[0-9]{1,2})?|100000000(\.0{1,2})?)$"
"""A positive amount of at most 100000000.00 (`credit/requests.py`, MAX_CREDIT_AMOUNT)."""
CODE = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
PRODUCT = r"^[A-Z][A-Z0-9_]{1,63}$"
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,128}$"
ORDER_KEY = r"^ord_[0-9a-f]{32}$"
DECISION_ID = r"^dec_[0-9a-f]{32}$"
SEPARATORS = "[./ -]*"
CPF = rf"^{SEPARATORS}([0-9]{SEPARATORS}){{11}}$"
"""11 digits, bare or spelled with `.`, `-`, `/` or spaces anywhere (`123.456.789-09`); the check digits
must match (`chalicelib/documents.py`)."""
CNPJ = rf"^{SEPARATORS}([0-9]{SEPARATORS}){{14}}$"
DOCUMENT = rf"^{SEPARATORS}(([0-9]{SEPARATORS}){{11}}|([0-9]{SEPARATORS}){{14}})$"
DIGITS_CPF = r"^[0-9]{11}$"
DIGITS_DOCUMENT = r"^([0-9]{11}|[0-9]{14})$"

ERROR_CODE = r"^[A-Z][A-Z0-9_]*$"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: Mapping[str, Schema], required: tuple[str, ...] | None = None, **extra: Any) -> Schema:
    """A closed object: every property listed; all required unless `required` says otherwise."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties if required is None else required),
        "additionalProperties": False,
        **extra,
    }


STRING: Schema = {"type": "string"}
DATE_TIME: Schema = {"type": "string", "format": "date-time"}
DATE: Schema = {"type": "string", "format": "date"}
DIGITS: Schema = {"type": "string", "pattern": DIGITS_DOCUMENT}


def _money(pattern: str, description: str) -> Schema:
    return {"type": "string", "pattern": pattern, "description": description, "examples": ["1500.00"]}


SCHEMAS: dict[str, Schema] = {
    "Error": _object(
        {
            "error": _object(
                {
                    "code": {"type": "string", "pattern": ERROR_CODE, "description": "stable, machine-readable"},
                    "message": {"type": "string", "description": "for people; may change"},
                    "field": {"type": "string", "description": "the offending input, e.g. `guarantors[0].document`"},
                },
                required=("code", "message"),
            )
        },
        description="Every error, whatever its status.",
    ),
    "Health": _object(
        {
            "status": {"const": "ok"},
            "region": STRING,
            "role": {"type": "string", "description": "`primary` or `dr`"},
        }
    ),
    "OpenApiDocument": {
        "type": "object",
        "required": ["openapi", "info", "paths"],
        "properties": {"openapi": {"type": "string", "pattern": r"^3\.1\.[0-9]+$"}},
        "description": "This document.",
    },
    # --- orders ---------------------------------------------------------------------------------
    "Party": _object(
        {
            "document": {
                "type": "string",
                "pattern": DOCUMENT,
                "format": "cpf-or-cnpj",
                "description": "A CPF (person) or CNPJ (company): its digits, with or without `.`, `-`, `/` or "
                "spaces; the check digits must match.",
                "examples": ["11111111000191", "700.000.008-25"],
            },
            "type": {
                "enum": ["PJ", "PF", None],
                "description": "Optional (null: not given); must match the document (PJ: CNPJ, PF: CPF).",
            },
        },
        required=("document",),
    ),
    "CreateOrderRequest": _object(
        {
            "area_id": {
                "type": "string",
                "pattern": CODE,
                "description": "The caller's own area (another area's: 403 FORBIDDEN_AREA).",
            },
            "product": {"type": "string", "pattern": CODE},
            "power_code": {"type": "string", "pattern": CODE},
            "platform": {"type": "string", "pattern": CODE},
            "signature_method": {"type": "string", "pattern": CODE},
            "amount": _money(MONEY, "Greater than zero."),
            "requester": _ref("Party"),
            "guarantors": {
                "type": "array",
                "items": _ref("Party"),
                "maxItems": MAX_GUARANTORS,
                "description": "No document may appear twice in an order (requester included).",
            },
        },
        required=("area_id", "product", "power_code", "platform", "signature_method", "amount", "requester"),
    ),
    "OrderAccepted": _object(
        {"order_key": {"type": "string", "pattern": ORDER_KEY}, "status": {"const": "PROCESSING"}}
    ),
    "Participant": _object(
        {
            "cpf": {"type": "string", "pattern": DIGITS_CPF},
            "name": _nullable(STRING),
            "email": _nullable(STRING),
            "phone": _nullable(STRING),
            "group": _nullable(STRING),
            "groups": {"type": "array", "items": STRING},
            "enabled": {"type": "boolean"},
            "reservation": {"type": "boolean"},
            "disabled_reasons": {
                "type": "array",
                "items": {
                    "enum": [
                        "AMOUNT_LIMIT",
                        "VALIDITY",
                        "SIGNATURE_METHOD",
                        "UNKNOWN_RESERVATION",
                        "NO_OPERATOR",
                        "NO_ACCOUNT_ACCESS",
                        "NOT_IN_APPLICABLE_RULE",
                    ]
                },
            },
        }
    ),
    "PartyVerdict": _object(
        {
            "role": {"enum": ["REQUESTER", "GUARANTOR"]},
            "type": {"enum": ["PJ", "PF"]},
            "document": DIGITS,
            "quorum": {"type": "boolean"},
            "reason": _nullable(
                {
                    "enum": [
                        "NO_REPRESENTATIVES",
                        "NO_ENABLED_REPRESENTATIVES",
                        "NO_ACTIVE_OPERATOR",
                        "NO_RULE_SATISFIED",
                    ]
                }
            ),
            "participants": {"type": "array", "items": _ref("Participant")},
            "satisfied_rules": {"type": "array", "items": STRING},
            "signer_sets": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "string", "pattern": DIGITS_CPF}},
                "maxItems": 20,
                "description": "The minimal sets of people who can sign together, smallest first.",
            },
            "signer_sets_total": {"type": "integer", "minimum": 0},
            "signer_sets_total_exact": {"type": "boolean"},
            "signers": {"type": "array", "items": {"type": "string", "pattern": DIGITS_CPF}},
        }
    ),
    "Order": _object(
        {
            "order_key": {"type": "string", "pattern": ORDER_KEY},
            "status": {"enum": ["PROCESSING", "QUORUM_MET", "NO_QUORUM", "FAILED"]},
            "quorum": {"type": ["boolean", "null"], "description": "null until decided"},
            "reason": {"type": ["string", "null"], "description": "the first failing party's, or why it FAILED"},
            "parties": {"type": "array", "items": _ref("PartyVerdict"), "description": "empty until decided"},
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
            "decided_at": _nullable(DATE_TIME),
        }
    ),
    # --- credit ---------------------------------------------------------------------------------
    "ProfileRequest": _object(
        {
            "monthly_income": _money(MONEY_OR_ZERO, "Zero or more."),
            "existing_debts": _money(MONEY_OR_ZERO, "What the customer already pays per month; zero or more."),
        }
    ),
    "Profile": _object(
        {
            "cpf": {"type": "string", "pattern": DIGITS_CPF},
            "monthly_income": {"type": "string", "pattern": MONEY_OR_ZERO},
            "existing_debts": {"type": "string", "pattern": MONEY_OR_ZERO},
            "updated_at": DATE_TIME,
        }
    ),
    "DecisionRequest": _object(
        {
            "cpf": {"type": "string", "pattern": CPF, "format": "cpf", "examples": ["70000000230"]},
            "amount": _money(CREDIT_AMOUNT, "Greater than zero, at most 100000000.00."),
            "term_months": {"type": "integer", "minimum": 1, "maximum": MAX_TERM_MONTHS},
            "product": {"type": "string", "pattern": PRODUCT, "examples": ["PERSONAL_LOAN"]},
            "monthly_income": _nullable(_money(MONEY_OR_ZERO, "Overrides the stored profile.")),
            "existing_debts": _nullable(_money(MONEY_OR_ZERO, "Overrides the stored profile.")),
        },
        required=("cpf", "amount", "term_months", "product"),
        description="Without both monthly_income and existing_debts, the stored profile completes them "
        "(none stored: 422 CUSTOMER_PROFILE_REQUIRED).",
    ),
    "Reason": _object(
        {
            "code": STRING,
            "message": STRING,
            "outcome": {"enum": ["APPROVED", "REVIEW", "REFUSED"]},
            "rule_id": _nullable(STRING),
        }
    ),
    "Application": _object(
        {
            "amount": {"type": "string", "pattern": MONEY_OR_ZERO},
            "term_months": {"type": "integer"},
            "product": STRING,
            "monthly_income": {"type": "string", "pattern": MONEY_OR_ZERO},
            "existing_debts": {"type": "string", "pattern": MONEY_OR_ZERO},
            "score": {"type": ["integer", "null"]},
            "score_as_of": _nullable(DATE),
            "score_source": {"enum": ["BUREAU", "STORED", "NONE", "UNAVAILABLE"]},
            "decided_on": DATE,
        },
        description="The inputs the decision used.",
    ),
    "Decision": _object(
        {
            "decision_id": {"type": "string", "pattern": DECISION_ID},
            "cpf": {"type": "string", "pattern": DIGITS_CPF},
            "outcome": {"enum": ["APPROVED", "REVIEW", "REFUSED"]},
            "approved_amount": {"type": ["string", "null"], "description": "the requested amount when APPROVED"},
            "risk_band": {"type": ["string", "null"]},
            "score": {"type": ["integer", "null"]},
            "reasons": {"type": "array", "items": _ref("Reason")},
            "policy": _object({"id": STRING, "version": STRING, "hash": STRING}),
            "figures": {
                "type": "object",
                "additionalProperties": {"type": ["string", "integer", "null"]},
                "description": "Every figure the policy used; decimals as strings, a non-finite ratio as null.",
            },
            "application": _ref("Application"),
            "created_at": DATE_TIME,
        }
    ),
    "DecisionPage": _object(
        {
            "items": {"type": "array", "items": _ref("Decision"), "maxItems": MAX_PAGE},
            "next_cursor": {"type": ["string", "null"], "description": "opaque; pass it back as `cursor`"},
        }
    ),
    "Policy": _object(
        {
            "id": STRING,
            "version": STRING,
            "hash": {"type": "string", "pattern": r"^sha256:[0-9a-f]{64}$"},
            "document": {"type": "object", "description": "The policy document (README: How credit is decided)."},
        }
    ),
}

# --- error answers ------------------------------------------------------------------------------

STATUS_TEXT = {
    400: "The request is malformed",
    401: "No valid bearer token",
    403: "The token does not allow this",
    404: "Not found",
    409: "Conflicts with an earlier request",
    413: "The body is over 64 KiB",
    415: "The body is not application/json",
    422: "Well-formed, but a business rule refuses it",
    429: "Throttled by API Gateway (AWS only)",
    503: "Unavailable: retry later",
}

BODY_ERRORS = {400: ("VALIDATION_ERROR", "INVALID_DOCUMENT"), 413: ("PAYLOAD_TOO_LARGE",)}
MEDIA_ERRORS = {415: ("UNSUPPORTED_MEDIA_TYPE",)}
SERVICE_ERRORS = ("SERVICE_UNAVAILABLE", "STORAGE_UNAVAILABLE")
FENCED = ("REGION_FENCED",)
"""A primary the standby has taken over refuses writes (and fails its health) until failback."""

ERRORS_BY_OPERATION: dict[str, dict[int, tuple[str, ...]]] = {
    "health": {503: ("SERVICE_UNAVAILABLE", "DEPENDENCY_UNAVAILABLE", *FENCED)},
    "openapi": {},
    "createOrder": {
        **BODY_ERRORS,
        **MEDIA_ERRORS,
        403: ("FORBIDDEN", "FORBIDDEN_AREA"),
        409: ("IDEMPOTENCY_CONFLICT", "IDEMPOTENCY_IN_PROGRESS"),
        422: (
            "AREA_NOT_FOUND",
            "AREA_INACTIVE",
            "PLATFORM_NOT_ALLOWED",
            "SIGNATURE_METHOD_NOT_ALLOWED",
            "AMOUNT_ABOVE_LIMIT",
            "UNKNOWN_PRODUCT",
            "UNKNOWN_POWER",
        ),
        503: (*SERVICE_ERRORS, "PARTNER_UNAVAILABLE", "PARTNER_CIRCUIT_OPEN", "QUEUE_UNAVAILABLE", *FENCED),
    },
    "getOrder": {404: ("ORDER_NOT_FOUND", "ROUTE_NOT_FOUND")},
    "putCustomer": {**BODY_ERRORS, **MEDIA_ERRORS, 404: ("ROUTE_NOT_FOUND",), 503: (*SERVICE_ERRORS, *FENCED)},
    "getCustomer": {400: ("INVALID_DOCUMENT",), 404: ("CUSTOMER_NOT_FOUND", "ROUTE_NOT_FOUND")},
    "listCustomerDecisions": {
        400: ("INVALID_DOCUMENT", "VALIDATION_ERROR", "INVALID_CURSOR"),
        404: ("ROUTE_NOT_FOUND",),
    },
    "decideCredit": {
        **BODY_ERRORS,
        **MEDIA_ERRORS,
        422: ("UNKNOWN_PRODUCT", "CUSTOMER_PROFILE_REQUIRED"),
        503: (*SERVICE_ERRORS, "POLICY_UNAVAILABLE", *FENCED),
    },
    "getCreditDecision": {404: ("DECISION_NOT_FOUND", "ROUTE_NOT_FOUND")},
    "getActiveCreditPolicy": {503: (*SERVICE_ERRORS, "POLICY_UNAVAILABLE")},
}
"""Each operation's error answers by status, with every code it can carry. Added for every
operation that needs a token: 401 UNAUTHENTICATED, 403 FORBIDDEN and 503 SERVICE_UNAVAILABLE /
STORAGE_UNAVAILABLE; for every operation: 429 THROTTLED (API Gateway)."""

SUCCESS: dict[str, tuple[int, str, str]] = {
    "health": (200, "Health", "This region serves"),
    "openapi": (200, "OpenApiDocument", "This document"),
    "createOrder": (202, "OrderAccepted", "Accepted; the quorum is decided asynchronously (poll Location)"),
    "getOrder": (200, "Order", "The order; `parties` is empty until decided"),
    "putCustomer": (200, "Profile", "The stored profile"),
    "getCustomer": (200, "Profile", "The stored profile"),
    "listCustomerDecisions": (200, "DecisionPage", "Newest first"),
    "decideCredit": (201, "Decision", "Decided and stored (see Location)"),
    "getCreditDecision": (200, "Decision", "The stored decision"),
    "getActiveCreditPolicy": (200, "Policy", "The policy in force"),
}

LOCATION = {
    "Location": {
        "required": True,
        "description": "Where the created resource is read",
        "schema": {"type": "string", "pattern": r"^/v1/(orders/ord|credit/decisions/dec)_[0-9a-f]{32}$"},
    }
}
WWW_AUTHENTICATE_HEADER = {
    "WWW-Authenticate": {"required": True, "schema": {"type": "string", "pattern": "^Bearer "}},
}

REQUEST_BODIES: dict[str, tuple[str, Schema]] = {
    "createOrder": (
        "CreateOrderRequest",
        {
            "area_id": "AREA-CREDIT",
            "product": "CCB",
            "power_code": "SIGN_CREDIT",
            "platform": "BANKLINE",
            "signature_method": "DIGITAL",
            "amount": "150000.00",
            "requester": {"document": "11111111000191"},
            "guarantors": [],
        },
    ),
    "putCustomer": ("ProfileRequest", {"monthly_income": "8000.00", "existing_debts": "1200.00"}),
    "decideCredit": (
        "DecisionRequest",
        {
            "cpf": "70000000230",
            "amount": "20000.00",
            "term_months": 24,
            "product": "PERSONAL_LOAN",
            "monthly_income": "8000.00",
            "existing_debts": "1200.00",
        },
    ),
}

PATH_PARAMETERS: dict[str, Schema] = {
    "order_key": {"type": "string", "pattern": ORDER_KEY, "examples": ["ord_0123456789abcdef0123456789abcdef"]},
    "cpf": {"type": "string", "pattern": CPF, "format": "cpf", "examples": ["70000000230"]},
    "decision_id": {"type": "string", "pattern": DECISION_ID, "examples": ["dec_0123456789abcdef0123456789abcdef"]},
}

EXTRA_PARAMETERS: dict[str, list[Schema]] = {
    "createOrder": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "Same key and body: the same answer, nothing stored twice; same key, other body: 409. "
            "Keys are per area and live 24 h.",
            "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY},
        }
    ],
    "listCustomerDecisions": [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 20},
        },
        {
            "name": "cursor",
            "in": "query",
            "required": False,
            "description": "`next_cursor` of the previous page, as it came (opaque; an edited one is 400).",
            "schema": {"type": "string"},
        },
    ],
}

_PARAMETER = re.compile(r"{([^}]+)}")
TAGS = {"orders": "orders", "customers": "credit", "credit": "credit"}
"""By the path's first segment after /v1, as the blueprints group them; the rest is `platform`."""


def token_url_from(env: Mapping[str, str]) -> str:
    """Where clients get tokens: `AME_TOKEN_URL` (Cognito's domain in AWS), else the first trusted
    issuer's `/oauth2/token` (the local issuer), else a relative URL (OpenAPI 3.1 allows one)."""
    if env.get("AME_TOKEN_URL", "").strip():
        return env["AME_TOKEN_URL"].strip()
    issuers = [url.strip().rstrip("/") for url in env.get("AME_TOKEN_ISSUERS", "").split(",") if url.strip()]
    return f"{issuers[0]}{TOKEN_PATH}" if issuers else TOKEN_PATH


def full_scope(scope: Scope) -> str:
    return f"{RESOURCE_SERVER}/{scope.value}"


def _error_response(status: int, codes: tuple[str, ...]) -> Schema:
    schema: Schema = {
        "allOf": [
            _ref("Error"),
            {"properties": {"error": {"properties": {"code": {"enum": list(codes)}}}}},
        ]
    }
    response: Schema = {
        "description": f"{STATUS_TEXT[status]}: {', '.join(codes)}",
        "content": {"application/json": {"schema": schema}},
    }
    if status == 401:
        response["headers"] = WWW_AUTHENTICATE_HEADER
    return response


def _errors(spec: RouteSpec) -> dict[int, tuple[str, ...]]:
    errors = {status: tuple(codes) for status, codes in ERRORS_BY_OPERATION[spec.operation_id].items()}
    errors[429] = ("THROTTLED",)
    if spec.scope is not None:
        errors[401] = ("UNAUTHENTICATED",)
        errors[403] = tuple(dict.fromkeys(("FORBIDDEN", *errors.get(403, ()))))
        errors[503] = tuple(dict.fromkeys((*SERVICE_ERRORS, *errors.get(503, ()))))
    return dict(sorted(errors.items()))


def _responses(spec: RouteSpec) -> dict[str, Schema]:
    status, schema_name, description = SUCCESS[spec.operation_id]
    success: Schema = {"description": description, "content": {"application/json": {"schema": _ref(schema_name)}}}
    if status in (201, 202):
        success["headers"] = LOCATION
    responses = {str(status): success}
    for error_status, codes in _errors(spec).items():
        responses[str(error_status)] = _error_response(error_status, codes)
    return responses


def _operation(spec: RouteSpec) -> Schema:
    operation: Schema = {
        "operationId": spec.operation_id,
        "summary": spec.summary,
        "tags": [TAGS.get(spec.path.split("/")[2], "platform")],
        "security": [] if spec.scope is None else [{SECURITY_SCHEME: [full_scope(spec.scope)]}],
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
        for name in _PARAMETER.findall(spec.path)
    ]
    parameters += EXTRA_PARAMETERS.get(spec.operation_id, [])
    if parameters:
        operation["parameters"] = parameters
    if spec.operation_id in REQUEST_BODIES:
        schema_name, example = REQUEST_BODIES[spec.operation_id]
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(schema_name), "example": example}},
        }
    operation["responses"] = _responses(spec)
    if spec.personal_data:
        operation["description"] = "Reads or changes personal data: every call is audited."
    return operation


def build_document(token_url: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Schema]] = {}
    for spec in ROUTES:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ame-platform",
            "version": "1",
            "description": "Signature quorum and credit decisions. Every error is "
            '`{"error": {"code", "message", "field"?}}`; money is a decimal string; times are UTC ISO-8601.',
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "oauth2",
                    "description": "OAuth 2.0 client credentials: one client per consuming area of the bank.",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": token_url,
                            "scopes": {full_scope(scope): text for scope, text in SCOPE_DESCRIPTIONS.items()},
                        }
                    },
                }
            },
        },
    }


@functools.cache
def document_text(token_url: str) -> str:
    """The document as served, built once per process (per token URL)."""
    return json.dumps(build_document(token_url), separators=(",", ":"))
