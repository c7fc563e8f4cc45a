"""Configuration from environment variables, read once at bootstrap (never at import)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

PARTNER_URL_VARIABLES = {
    "parametrizer": "AME_PARAMETRIZER_URL",
    "domains": "AME_DOMAINS_URL",
    "powers": "AME_POWERS_URL",
    "people": "AME_PEOPLE_URL",
    "operators": "AME_OPERATORS_URL",
    "bureau": "AME_BUREAU_URL",
}

ENVELOPE_REQUESTS_QUEUE = "ame-envelope-requests"
"""Fixed at packaging time: Chalice wires the SQS event source from this name."""

# Default names; the environment may override each (the Pulumi stacks set them all).
ORDERS_TABLE = "ame-orders"
IDEMPOTENCY_TABLE = "ame-idempotency"
CREDIT_TABLE = "ame-credit"
ENVELOPE_RESULTS_QUEUE = "ame-envelope-results.fifo"
NOTIFICATIONS_QUEUE = "ame-notifications.fifo"


FAILOVER_SWITCH_ALARM = "ame-platform-primary-out-of-service"
"""The switch that holds the primary out of service: a CloudWatch alarm in the standby (dr) region."""
FAILOVER_SWITCH_NAMESPACE = "AME/Failover"
FAILOVER_SWITCH_METRIC = "PrimaryOutOfService"
"""The alarm's metric (no dimensions, Maximum over 60 s, >= 1): 1 out of service, 0 back in service."""

REGION_HEADER = "X-Ame-Region"
"""Names the region that answered; the sweeper, the failover router and DR drills all read it."""


def is_fifo(queue: str) -> bool:
    return queue.endswith(".fifo")


def dead_letter_queue_name(queue: str) -> str:
    """`<name>-dlq`, keeping a FIFO queue's `.fifo` suffix last as SQS requires."""
    base = queue.removesuffix(".fifo")
    return f"{base}-dlq.fifo" if is_fifo(queue) else f"{base}-dlq"


def region_from(env: Mapping[str, str]) -> str:
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"


class ConfigurationError(RuntimeError):
    """A required setting is missing or unreadable; the message names variables, never their values."""


Number = TypeVar("Number", int, float)


def _number(env: Mapping[str, str], name: str, default: str, kind: Callable[[str], Number]) -> Number:
    try:
        return kind(env.get(name, default))
    except ValueError:
        raise ConfigurationError(f"{name} is not {'an integer' if kind is int else 'a number'}") from None


def _at_least_one(env: Mapping[str, str], name: str, default: str) -> int:
    value = _number(env, name, default, int)
    if value < 1:
        raise ConfigurationError(f"{name} must be at least 1")
    return value


FIFO_DEDUPLICATION_SECONDS = 300
"""SQS FIFO drops a resend of a deduplication id for five minutes after the first send."""


def _outbox_window(env: Mapping[str, str]) -> float:
    window = _number(env, "AME_OUTBOX_WINDOW_SECONDS", "240", float)
    if not 0 < window < FIFO_DEDUPLICATION_SECONDS:
        raise ConfigurationError(f"AME_OUTBOX_WINDOW_SECONDS must be above 0 and under {FIFO_DEDUPLICATION_SECONDS}")
    return window


@dataclass(frozen=True, slots=True)
class Settings:
    region: str
    role: str
    aws_endpoint_url: str | None
    orders_table: str
    idempotency_table: str
    credit_table: str
    policy_ttl_seconds: float
    envelope_requests_queue: str
    envelope_results_queue: str
    notifications_queue: str
    max_receive_count: int
    partner_urls: Mapping[str, str]
    partner_connect_timeout: float
    partner_read_timeout: float
    partner_retries: int
    idempotency_ttl: timedelta
    worker_threads: int
    batch_concurrency: int
    """How many records of one SQS batch are assembled at once (their partner calls share `worker_threads`)."""
    batch_deadline_margin_seconds: float
    """The SQS handler stops waiting this long before the Lambda timeout and hands back unfinished records."""
    sweep_after: timedelta
    failover_switch_region: str | None
    """Where the switch alarm lives (the dr region); None: no switch, this region is never fenced."""
    failover_switch_alarm: str
    public_url: str | None
    peer_health_url: str | None
    """dr only: the primary's regional `/v1/health`, which the sweeper probes to take over (None: it never does)."""
    peer_probes: int
    peer_probe_interval: float
    peer_probe_timeout: float
    claim_check_bucket: str | None
    """This region's claim-check bucket (`AME_CLAIM_CHECK_BUCKET`) for verdicts too large for an item or a
    message; None: such an order fails to record or publish (a configuration error, never a truncated verdict)."""
    app_secret: str | None
    """Locally, the application secret itself (`AME_APP_SECRET`); in AWS it stays in SSM instead."""
    app_secret_parameter: str | None
    """The SSM SecureString holding the application secret (`AME_APP_SECRET_PARAMETER`), read once per process."""
    contact_cache_seconds: float = 300.0
    """How long a person's contact data is reused (`AME_CONTACT_CACHE_SECONDS`; 0: never cached)."""
    operator_cache_seconds: float = 10.0
    """How long an operator's access (which grants account access) is reused (`AME_OPERATOR_CACHE_SECONDS`)."""
    partner_max_in_flight: int = 8
    """The bulkhead: most calls one partner has in flight from one process (`AME_PARTNER_MAX_IN_FLIGHT`)."""
    partner_breaker_fail_max: int = 5
    """Transient failures in a row that open a partner's circuit breaker (`AME_PARTNER_BREAKER_FAIL_MAX`)."""
    partner_breaker_reset_seconds: float = 30.0
    """How long an open breaker fails calls at once before one trial call (`AME_PARTNER_BREAKER_RESET_SECONDS`)."""
    partner_retry_budget: float = 0.2
    """Retries per partner call allowed, sustained, beyond a burst of 10 (`AME_PARTNER_RETRY_BUDGET`)."""
    reference_cache_seconds: float = 60.0
    """How long an area's settings and a domain entry are reused (`AME_REFERENCE_CACHE_SECONDS`)."""
    reference_max_stale_seconds: float = 900.0
    """Oldest area/domain answer served when the partner fails (`AME_REFERENCE_MAX_STALE_SECONDS`)."""
    outbox_window: timedelta = timedelta(seconds=240)
    """How long after the outbox's claim an attempt may still send (`AME_OUTBOX_WINDOW_SECONDS`); must stay
    under SQS FIFO's 300 s deduplication interval, with room for one SQS call's timeout."""
    outbox_retry_seconds: int = 30
    """A claimed request comes back this soon if its attempt dies (`AME_OUTBOX_RETRY_SECONDS`)."""
    sweep_max_rescues: int = 100
    """Most orders one sweeper run queues again (`AME_SWEEP_MAX_RESCUES`)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        missing = [var for var in PARTNER_URL_VARIABLES.values() if not env.get(var)]
        if missing:
            raise ConfigurationError(f"missing {', '.join(missing)} (the partners' base URLs)")
        return cls(
            region=region_from(env),
            role=env.get("AME_ROLE", "primary"),
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            orders_table=env.get("AME_ORDERS_TABLE", ORDERS_TABLE),
            idempotency_table=env.get("AME_IDEMPOTENCY_TABLE", IDEMPOTENCY_TABLE),
            credit_table=env.get("AME_CREDIT_TABLE", CREDIT_TABLE),
            policy_ttl_seconds=_number(env, "AME_POLICY_TTL_SECONDS", "300", float),
            envelope_requests_queue=env.get("AME_ENVELOPE_REQUESTS_QUEUE", ENVELOPE_REQUESTS_QUEUE),
            # FIFO: SQS drops a resend with the same deduplication id for five minutes, so a worker
            # killed between sending and recording what it sent does not notify anyone twice.
            envelope_results_queue=env.get("AME_ENVELOPE_RESULTS_QUEUE", ENVELOPE_RESULTS_QUEUE),
            notifications_queue=env.get("AME_NOTIFICATIONS_QUEUE", NOTIFICATIONS_QUEUE),
            max_receive_count=_number(env, "AME_MAX_RECEIVE_COUNT", "5", int),
            partner_urls={name: env[var] for name, var in PARTNER_URL_VARIABLES.items()},
            partner_connect_timeout=_number(env, "AME_PARTNER_CONNECT_TIMEOUT", "1.0", float),
            partner_read_timeout=_number(env, "AME_PARTNER_READ_TIMEOUT", "2.0", float),
            partner_retries=_number(env, "AME_PARTNER_RETRIES", "1", int),
            idempotency_ttl=timedelta(hours=_number(env, "AME_IDEMPOTENCY_TTL_HOURS", "24", float)),
            worker_threads=_number(env, "AME_WORKER_THREADS", "16", int),
            # 4 of a batch of 10: a heavy company holds one slot while the rest pass through the others,
            # and no more decisions than that share a 512 MB function's memory and the partner pool.
            batch_concurrency=_at_least_one(env, "AME_BATCH_CONCURRENCY", "4"),
            batch_deadline_margin_seconds=_number(env, "AME_BATCH_DEADLINE_MARGIN_SECONDS", "3", float),
            # The request queue's longest time in flight (visibility 6 min x maxReceiveCount 5 in AWS): until
            # then an order's request may still arrive, and re-queuing it only adds load (README, Sweeper).
            sweep_after=timedelta(seconds=_number(env, "AME_SWEEP_AFTER_SECONDS", "1800", float)),
            failover_switch_region=env.get("AME_FAILOVER_SWITCH_REGION") or None,
            failover_switch_alarm=env.get("AME_FAILOVER_SWITCH_ALARM") or FAILOVER_SWITCH_ALARM,
            public_url=env.get("AME_PUBLIC_URL") or None,
            peer_health_url=env.get("AME_PEER_HEALTH_URL") or None,
            # Three probes 10 s apart, 4 s each: about Route 53's own 3 x 10 s, and at most 32 s of the
            # sweeper's 60 s. The probes must span more than the primary's switch cache (chalicelib.takeover).
            peer_probes=_number(env, "AME_PEER_PROBES", "3", int),
            peer_probe_interval=_number(env, "AME_PEER_PROBE_INTERVAL_SECONDS", "10", float),
            peer_probe_timeout=_number(env, "AME_PEER_PROBE_TIMEOUT_SECONDS", "4", float),
            claim_check_bucket=env.get("AME_CLAIM_CHECK_BUCKET") or None,
            app_secret=env.get("AME_APP_SECRET") or None,
            app_secret_parameter=env.get("AME_APP_SECRET_PARAMETER") or None,
            contact_cache_seconds=_number(env, "AME_CONTACT_CACHE_SECONDS", "300", float),
            operator_cache_seconds=_number(env, "AME_OPERATOR_CACHE_SECONDS", "10", float),
            partner_max_in_flight=_at_least_one(env, "AME_PARTNER_MAX_IN_FLIGHT", "8"),
            partner_breaker_fail_max=_at_least_one(env, "AME_PARTNER_BREAKER_FAIL_MAX", "5"),
            partner_breaker_reset_seconds=_number(env, "AME_PARTNER_BREAKER_RESET_SECONDS", "30", float),
            partner_retry_budget=_number(env, "AME_PARTNER_RETRY_BUDGET", "0.2", float),
            reference_cache_seconds=_number(env, "AME_REFERENCE_CACHE_SECONDS", "60", float),
            reference_max_stale_seconds=_number(env, "AME_REFERENCE_MAX_STALE_SECONDS", "900", float),
            outbox_retry_seconds=_number(env, "AME_OUTBOX_RETRY_SECONDS", "30", int),
            sweep_max_rescues=_at_least_one(env, "AME_SWEEP_MAX_RESCUES", "100"),
        )


RESOURCE_SERVER = "ame-platform"
"""The Cognito resource server's identifier: tokens carry scopes as `ame-platform/orders.read`."""


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    """Whom the API trusts; read only by the API (the queue worker has no callers to verify)."""

    issuers: tuple[str, ...]
    """Trusted token issuers (each region's Cognito user pool, or the local one).

    Each serves its JWKS at `<issuer>/.well-known/jwks.json`."""
    area_clients: Mapping[str, str]
    """The area registry: OAuth client id -> the area whose system it is."""
    resource_server: str
    leeway_seconds: int
    jwks_ttl_seconds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> IdentitySettings:
        issuers = tuple(url.strip().rstrip("/") for url in env.get("AME_TOKEN_ISSUERS", "").split(",") if url.strip())
        if not issuers:
            raise ConfigurationError("missing AME_TOKEN_ISSUERS (the token issuers the API trusts)")
        return cls(
            issuers=issuers,
            area_clients=_area_clients(env.get("AME_AREA_CLIENTS", "")),
            resource_server=env.get("AME_RESOURCE_SERVER", RESOURCE_SERVER),
            leeway_seconds=_number(env, "AME_TOKEN_LEEWAY_SECONDS", "30", int),
            jwks_ttl_seconds=_number(env, "AME_JWKS_TTL_SECONDS", "3600", int),
        )


def _area_clients(raw: str) -> Mapping[str, str]:
    try:
        registry = json.loads(raw) if raw.strip() else None
    except ValueError:
        registry = None
    if not isinstance(registry, dict) or not registry:
        raise ConfigurationError('AME_AREA_CLIENTS is missing or not a JSON object {"<client id>": "<area id>"}')
    if not all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in registry.items()):
        raise ConfigurationError("AME_AREA_CLIENTS must map client ids to area ids, both non-empty strings")
    return dict(registry)
