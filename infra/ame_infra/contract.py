"""The app's side of the deal: tables, queues and what each function may touch.

Written out here rather than imported from `chalicelib` so the Pulumi program needs only its own
directory; `tests/infra/test_contract.py` fails when either side drifts from the other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PARTNERS = {
    "parametrizer": "AME_PARAMETRIZER_URL",
    "domains": "AME_DOMAINS_URL",
    "powers": "AME_POWERS_URL",
    "people": "AME_PEOPLE_URL",
    "operators": "AME_OPERATORS_URL",
    "bureau": "AME_BUREAU_URL",
}


@dataclass(frozen=True)
class IndexSpec:
    name: str
    hash_key: str
    range_key: str
    projection: str = "ALL"


@dataclass(frozen=True)
class TableSpec:
    key: str
    name: str
    env_var: str
    hash_key: str
    range_key: str | None = None
    indexes: tuple[IndexSpec, ...] = ()
    ttl_attribute: str | None = None

    @property
    def attributes(self) -> list[str]:
        """Every attribute a key schema names, once: DynamoDB refuses definitions no key uses."""
        names = [self.hash_key, *([self.range_key] if self.range_key else [])]
        for index in self.indexes:
            names += [index.hash_key, index.range_key]
        return list(dict.fromkeys(names))


@dataclass(frozen=True)
class QueueSpec:
    key: str
    name: str
    env_var: str

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")

    @property
    def dlq_name(self) -> str:
        """`<name>-dlq`, the `.fifo` suffix kept last (a FIFO queue's DLQ must be FIFO too)."""
        base = self.name.removesuffix(".fifo")
        return f"{base}-dlq.fifo" if self.fifo else f"{base}-dlq"


ORDERS = TableSpec(
    "orders",
    "ame-orders",
    "AME_ORDERS_TABLE",
    hash_key="order_key",
    indexes=(IndexSpec("by-status", "status", "created_at", projection="KEYS_ONLY"),),
)
IDEMPOTENCY = TableSpec("idempotency", "ame-idempotency", "AME_IDEMPOTENCY_TABLE", "key", ttl_attribute="expires_at")
CREDIT = TableSpec(
    "credit",
    "ame-credit",
    "AME_CREDIT_TABLE",
    hash_key="pk",
    range_key="sk",
    indexes=(
        IndexSpec("by-type", "entity", "last_updated"),
        IndexSpec("by-status", "status", "created_at"),
        IndexSpec("by-customer", "customer", "created_at"),
    ),
)
TABLES = (ORDERS, IDEMPOTENCY, CREDIT)

ENVELOPE_REQUESTS = QueueSpec("requests", "ame-envelope-requests", "AME_ENVELOPE_REQUESTS_QUEUE")
# FIFO, deduplicated by id: a worker killed between sending and recording does not send twice.
ENVELOPE_RESULTS = QueueSpec("results", "ame-envelope-results.fifo", "AME_ENVELOPE_RESULTS_QUEUE")
NOTIFICATIONS = QueueSpec("notifications", "ame-notifications.fifo", "AME_NOTIFICATIONS_QUEUE")
QUEUES = (ENVELOPE_REQUESTS, ENVELOPE_RESULTS, NOTIFICATIONS)

CLAIM_CHECK_PURPOSE = "claim-check"
"""The bucket (`buckets.BUCKETS`) for verdicts too large for an order item or a result message."""
CLAIM_CHECK_ENV = "AME_CLAIM_CHECK_BUCKET"
CLAIM_CHECK_READ = ("s3:GetObject",)
CLAIM_CHECK_WRITE = ("s3:PutObject",)

READ = ("dynamodb:GetItem",)
WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem")


@dataclass(frozen=True)
class FunctionAccess:
    """Least privilege for one Lambda handler: which table actions, which queues."""

    tables: dict[str, tuple[str, ...]]
    queries_indexes_of: tuple[str, ...] = ()
    sends_to: tuple[QueueSpec, ...] = ()
    reads_app_secret: bool = True
    """Every entry point builds the container, which derives its keys from the application secret."""
    verifies_callers: bool = False
    """Gets the identity settings (issuers, area registry): only the REST API has callers."""
    claim_checks: tuple[str, ...] = ()
    """S3 actions on the claim-check bucket's objects (plus the KMS ones its data key needs for them)."""


ACCESS_BY_HANDLER = {
    # The REST API: drafts orders with their idempotency key in one transaction (Put + condition),
    # releases a key whose enqueue failed (Delete), reads orders, stores customers and decisions.
    "app.app": FunctionAccess(
        tables={
            ORDERS.key: (*READ, *WRITE),
            IDEMPOTENCY.key: (*READ, "dynamodb:PutItem", "dynamodb:DeleteItem"),
            CREDIT.key: (*READ, "dynamodb:PutItem", "dynamodb:Query"),
        },
        queries_indexes_of=(CREDIT.key,),
        sends_to=(ENVELOPE_REQUESTS,),
        verifies_callers=True,
        claim_checks=CLAIM_CHECK_READ,  # GET /v1/orders/{key} returns a claim-checked verdict whole
    ),
    # The scheduled sweeper: finds orders stuck in PROCESSING (index query), reads each (is it stranded?),
    # records the re-queue on it (conditional on PROCESSING) and re-queues it here.
    "app.sweep_stuck_orders": FunctionAccess(
        tables={ORDERS.key: ("dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem")},
        queries_indexes_of=(ORDERS.key,),
        sends_to=(ENVELOPE_REQUESTS,),
    ),
    # The SQS handler: reads and decides orders, publishes results and notifications.
    "app.assemble_envelopes": FunctionAccess(
        tables={ORDERS.key: (*READ, *WRITE)},
        sends_to=(ENVELOPE_RESULTS, NOTIFICATIONS),
        # Writes large verdicts; reads one back when a redelivered order is already decided.
        claim_checks=(*CLAIM_CHECK_READ, *CLAIM_CHECK_WRITE),
    ),
}


def app_secret_parameter(region: str) -> str:
    """The SSM SecureString holding the application secret (the same value in both regions)."""
    return f"/ame-platform/{region}/app-secret"


# --- the failover switch (docs/deployment.md, Failover): one alarm in the standby (dr) region -------

FAILOVER_SWITCH_ALARM = "ame-platform-primary-out-of-service"
"""Owned by the dr stack in the dr region; ALARM takes the primary out of Route 53 and fences it."""
FAILOVER_SWITCH_NAMESPACE = "AME/Failover"
FAILOVER_SWITCH_METRIC = "PrimaryOutOfService"
"""No dimensions; operators and the drill put 1 (out of service) or 0 (back) and set the alarm's state."""


def failover_switch(dr_region: str) -> dict[str, str]:
    """The `failover_switch` stack output both stacks export: where the switch is and what it watches."""
    return {
        "region": dr_region,
        "alarm_name": FAILOVER_SWITCH_ALARM,
        "namespace": FAILOVER_SWITCH_NAMESPACE,
        "metric_name": FAILOVER_SWITCH_METRIC,
    }


def lambda_environment(
    role: str,
    region: str,
    api_domain: str,
    max_receive_count: int,
    partner_urls: dict[str, str],
    failover_switch_region: str,
    claim_check_bucket: str,
) -> dict[str, str]:
    """What `chalicelib.settings.Settings.from_env` reads; a test feeds it this and expects no error."""
    return {
        "AME_ROLE": role,
        # Both regions read the one switch in the dr region: the primary is fenced by it, never the standby.
        "AME_FAILOVER_SWITCH_REGION": failover_switch_region,
        "AME_FAILOVER_SWITCH_ALARM": FAILOVER_SWITCH_ALARM,
        "AME_PUBLIC_URL": f"https://{api_domain}",  # the sweeper asks it which region is serving
        **{table.env_var: table.name for table in TABLES},
        **{queue.env_var: queue.name for queue in QUEUES},
        "AME_MAX_RECEIVE_COUNT": str(max_receive_count),
        CLAIM_CHECK_ENV: claim_check_bucket,  # this region's: buckets are per region, replicated to dr
        **{PARTNERS[name]: url for name, url in sorted(partner_urls.items())},
        # The name only: the function reads the value from SSM (never its own configuration).
        "AME_APP_SECRET_PARAMETER": app_secret_parameter(region),
    }


def takeover_environment(peer_health_url: str | None) -> dict[str, str]:
    """The dr sweeper's watch on the primary (`chalicelib.takeover`): none without the primary's health URL."""
    return {} if peer_health_url is None else {"AME_PEER_HEALTH_URL": peer_health_url}


# --- identity: whom the API trusts (chalicelib.settings.IdentitySettings, chalicelib.identity.model) ---

RESOURCE_SERVER = "ame-platform"
"""The Cognito resource server's identifier; tokens carry `ame-platform/<scope>`."""

SCOPES = {
    "orders.write": "Create signature-quorum orders for the caller's own area",
    "orders.read": "Read the caller's own area's orders",
    "credit.decide": "Request credit decisions",
    "credit.customers.read": "Read customer credit profiles and their decisions",
    "credit.customers.write": "Create or change customer credit profiles",
    "credit.policies.read": "Read the credit policies in force",
}
"""`chalicelib.identity.model.Scope`'s values, in its order (a test keeps them equal), with the
description Cognito shows for each."""

AREA_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
"""An area id as orders accept it in `area_id` (`chalicelib.orders.requests`); use with `fullmatch`."""


def full_scope(scope: str) -> str:
    return f"{RESOURCE_SERVER}/{scope}"


IDENTITY_VARIABLES = ("AME_TOKEN_ISSUERS", "AME_AREA_CLIENTS", "AME_RESOURCE_SERVER", "AME_TOKEN_URL")


def identity_environment(issuers: Sequence[str], area_clients: Mapping[str, str], token_url: str) -> dict[str, str]:
    """What `chalicelib.settings.IdentitySettings.from_env` reads, and the token endpoint the published
    OpenAPI document names (`chalicelib.api.openapi.token_url_from`); set on the API function only."""
    return {
        "AME_TOKEN_ISSUERS": ",".join(issuers),
        "AME_AREA_CLIENTS": json.dumps(dict(sorted(area_clients.items()))),
        "AME_RESOURCE_SERVER": RESOURCE_SERVER,
        "AME_TOKEN_URL": token_url,
    }


# --- the answers API Gateway gives before a route runs (chalicelib.api.gateway) ---------------
# The five answers and the header are `chalicelib.api.gateway`'s, written out because the Pulumi
# program cannot import the app; tests/infra/test_contract.py fails when one differs by a byte.


@dataclass(frozen=True)
class GatewayAnswer:
    status: int
    code: str
    message: str

    def body_text(self) -> str:
        """The exact JSON text `chalicelib.api.gateway.GatewayAnswer.body_text` gives."""
        return json.dumps({"error": {"code": self.code, "message": self.message}}, separators=(",", ":"))


ROUTE_NOT_FOUND = GatewayAnswer(404, "ROUTE_NOT_FOUND", "no route matches this method and path; see /v1/openapi.json")
UNSUPPORTED_MEDIA_TYPE = GatewayAnswer(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as Content-Type: application/json")
UNAUTHENTICATED = GatewayAnswer(401, "UNAUTHENTICATED", "a valid bearer token is required")
FORBIDDEN = GatewayAnswer(403, "FORBIDDEN", "the token does not grant this operation")
THROTTLED = GatewayAnswer(429, "THROTTLED", "too many requests; retry later")
WWW_AUTHENTICATE = 'Bearer realm="ame-platform"'

# API Gateway's own refusals the app never gives, in the same shape and without internals.
REJECTED = GatewayAnswer(400, "BAD_REQUEST", "the request was rejected before it reached the API")
INTERNAL_ERROR = GatewayAnswer(500, "INTERNAL_ERROR", "unexpected error; the request was not completed")
PAYLOAD_TOO_LARGE = GatewayAnswer(413, "PAYLOAD_TOO_LARGE", "the request body is too large")
REQUEST_BLOCKED = GatewayAnswer(403, "REQUEST_BLOCKED", "the request was blocked by the web application firewall")

# --- the audit trail ------------------------------------------------------------------------

AUDIT_FILTER_PATTERN = '{ $.kind = "audit" }'
"""CloudWatch Logs JSON filter: the API's one-line audit records (`"kind": "audit"` at the top level)."""
AUDIT_PREFIX = "audit/"
"""Where Firehose writes the records in the audit bucket: `audit/<yyyy>/<MM>/<dd>/...`, JSON lines."""
AUDIT_ERROR_PREFIX = "audit-errors/"
