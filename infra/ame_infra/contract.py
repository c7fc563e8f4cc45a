"""The app's side of the deal: tables, queues and what each function may touch.

Written out here rather than imported from `chalicelib` so the Pulumi program needs only its own
directory; `tests/infra/test_contract.py` fails when either side drifts from the other.
"""

from __future__ import annotations

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

READ = ("dynamodb:GetItem",)
WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem")


@dataclass(frozen=True)
class FunctionAccess:
    """Least privilege for one Lambda handler: which table actions, which queues."""

    tables: dict[str, tuple[str, ...]]
    queries_indexes_of: tuple[str, ...] = ()
    sends_to: tuple[QueueSpec, ...] = ()
    reads_region_switch: bool = False


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
        reads_region_switch=True,  # /v1/health answers 503 while the region is held out of service
    ),
    # The scheduled sweeper: finds orders stuck in PROCESSING (index query) and re-queues them here.
    "app.sweep_stuck_orders": FunctionAccess(
        tables={ORDERS.key: ("dynamodb:Query",)},
        queries_indexes_of=(ORDERS.key,),
        sends_to=(ENVELOPE_REQUESTS,),
        reads_region_switch=True,
    ),
    # The SQS handler: reads and decides orders, publishes results and notifications.
    "app.assemble_envelopes": FunctionAccess(
        tables={ORDERS.key: (*READ, *WRITE)},
        sends_to=(ENVELOPE_RESULTS, NOTIFICATIONS),
    ),
}


def region_switch_parameter(region: str) -> str:
    """The SSM parameter that takes a region out of service ("true") for operators and DR drills."""
    return f"/ame-platform/{region}/out-of-service"


def lambda_environment(
    role: str, region: str, api_domain: str, max_receive_count: int, partner_urls: dict[str, str]
) -> dict[str, str]:
    """What `chalicelib.settings.Settings.from_env` reads; a test feeds it this and expects no error."""
    return {
        "AME_ROLE": role,
        "AME_PUBLIC_URL": f"https://{api_domain}",  # the sweeper asks it which region is serving
        "AME_OUT_OF_SERVICE_PARAMETER": region_switch_parameter(region),
        **{table.env_var: table.name for table in TABLES},
        **{queue.env_var: queue.name for queue in QUEUES},
        "AME_MAX_RECEIVE_COUNT": str(max_receive_count),
        **{PARTNERS[name]: url for name, url in sorted(partner_urls.items())},
    }
