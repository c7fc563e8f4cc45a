"""Builds each area's service from settings once per process, lazily, for every entry point.

Nothing here runs at import: the first request (or SQS batch) pays for clients and pools.
Entry points call `container().orders.create(...)` or `container().credit.decide(...)`; tests
install services bound to fakes with `use_container`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import telemetry
from chalicelib.correlation import ContextExecutor
from chalicelib.credit.cursors import DecisionCursors
from chalicelib.credit.policy_provider import PolicyProvider
from chalicelib.credit.ports import CreditStore
from chalicelib.credit.services import CreditService
from chalicelib.failover import PRIMARY_ROLE
from chalicelib.health import DeepHealth
from chalicelib.keys import AppKeys
from chalicelib.logs import configure_logging
from chalicelib.orders.ports import AlwaysInService, ClaimCheckStore, Partners, RegionSwitch, TrafficProbe
from chalicelib.orders.services import OrderService
from chalicelib.settings import CREDIT_TABLE, ConfigurationError, IdentitySettings, Settings, region_from
from chalicelib.takeover import Takeover

if TYPE_CHECKING:
    import urllib3

    from chalicelib.adapters.http_partners import HttpSettings, PartnerClient
    from chalicelib.audit.ports import AuditTrail
    from chalicelib.identity.tokens import TokenVerifier


@dataclass(frozen=True)
class Container:
    settings: Settings
    orders: OrderService
    credit: CreditService
    region_switch: RegionSwitch
    """Whether this region may write: a primary the standby took over is fenced (health, writes, worker, sweeper)."""
    keys: AppKeys
    """Per-purpose keys from the application secret (cursor signing, audit subject hashes)."""
    health: DeepHealth
    """`/v1/health`'s probe of DynamoDB and SQS, cached a few seconds."""
    takeover: Takeover | None = None
    """The dr sweeper's watch on the primary (`AME_PEER_HEALTH_URL`); None in the primary, or unset."""


def build_container(settings: Settings) -> Container:
    from chalicelib.adapters import http_partners as http
    from chalicelib.adapters.resilience import ResilienceSettings

    http_settings = http.HttpSettings(
        connect_timeout=settings.partner_connect_timeout,
        read_timeout=settings.partner_read_timeout,
        pool_size=settings.worker_threads,
        max_in_flight=settings.partner_max_in_flight,
        resilience=ResilienceSettings(
            fail_max=settings.partner_breaker_fail_max,
            reset_timeout=settings.partner_breaker_reset_seconds,
            retries=settings.partner_retries,
            budget_ratio=settings.partner_retry_budget,
        ),
    )
    pool = http.new_pool(http_settings)
    region_switch = _region_switch(settings)
    keys = _app_keys(settings)
    return Container(
        settings=settings,
        orders=_order_service(settings, pool, http_settings, region_switch),
        credit=_credit_service(settings, pool, http_settings, keys),
        region_switch=region_switch,
        keys=keys,
        health=_deep_health(settings),
        takeover=_takeover(settings),
    )


def _app_keys(settings: Settings) -> AppKeys:
    """From SSM in AWS (the secret never sits in the function's configuration), else the variable."""
    secret = settings.app_secret
    if settings.app_secret_parameter:
        ssm = _aws_client("ssm", settings)
        secret = ssm.get_parameter(Name=settings.app_secret_parameter, WithDecryption=True)["Parameter"]["Value"]
    if not secret:
        raise ConfigurationError("missing AME_APP_SECRET or AME_APP_SECRET_PARAMETER (the application secret)")
    try:
        return AppKeys.from_secret(secret.encode())
    except ValueError as exc:
        raise ConfigurationError(f"AME_APP_SECRET: {exc}") from None


def _partner(name: str, settings: Settings, pool: urllib3.PoolManager, http_settings: HttpSettings) -> PartnerClient:
    from chalicelib.adapters.http_partners import PartnerClient

    return PartnerClient(name, settings.partner_urls[name], pool, http_settings)


def _order_service(
    settings: Settings, pool: urllib3.PoolManager, http_settings: HttpSettings, region_switch: RegionSwitch
) -> OrderService:
    from chalicelib.adapters import http_partners as http
    from chalicelib.adapters.dynamodb import PynamoOrderRepository, bind_models
    from chalicelib.adapters.partner_cache import (
        CachedDomains,
        CachedOperators,
        CachedParametrizer,
        CachedPeople,
        StaleWhileError,
        TtlCache,
    )
    from chalicelib.adapters.sqs import QueueAddress, SqsEnvelopePublisher, SqsEnvelopeQueue

    def client(name: str) -> PartnerClient:
        return _partner(name, settings, pool, http_settings)

    models = bind_models(settings.orders_table, settings.idempotency_table, settings.region, settings.aws_endpoint_url)
    sqs = _aws_client("sqs", settings)
    claim_checks = _claim_checks(settings)
    return OrderService(
        partners=Partners(
            parametrizer=CachedParametrizer(
                http.HttpParametrizer(client("parametrizer")),
                StaleWhileError("parametrizer", settings.reference_cache_seconds, settings.reference_max_stale_seconds),
            ),
            domains=CachedDomains(
                http.HttpDomainCatalog(client("domains")),
                StaleWhileError("domains", settings.reference_cache_seconds, settings.reference_max_stale_seconds),
            ),
            powers=http.HttpPowersDirectory(client("powers")),
            people=CachedPeople(http.HttpPeopleDirectory(client("people")), TtlCache(settings.contact_cache_seconds)),
            operators=CachedOperators(
                http.HttpOperatorRegistry(client("operators")), TtlCache(settings.operator_cache_seconds)
            ),
        ),
        repository=PynamoOrderRepository(models, settings.idempotency_ttl, claim_checks),
        queue=SqsEnvelopeQueue(sqs, QueueAddress(sqs, settings.envelope_requests_queue)),
        publisher=SqsEnvelopePublisher(
            sqs,
            QueueAddress(sqs, settings.envelope_results_queue),
            QueueAddress(sqs, settings.notifications_queue),
            claim_checks,
        ),
        # Partner calls run in the caller's context: its correlation id goes on their X-Correlation-Id header.
        executor=ContextExecutor(max_workers=settings.worker_threads, thread_name_prefix="partners"),
        region_switch=region_switch,
        traffic_probe=_traffic_probe(settings.public_url) if settings.public_url else None,
        outbox_window=settings.outbox_window,
        outbox_retry=timedelta(seconds=settings.outbox_retry_seconds),
    )


def _traffic_probe(public_url: str) -> TrafficProbe:
    """The sweeper's once-a-minute probe of the public name: not a hot path, so plain requests."""
    import requests

    from chalicelib.adapters.http_partners import HttpTrafficProbe

    return HttpTrafficProbe(requests.Session(), public_url)


def _claim_checks(settings: Settings) -> ClaimCheckStore | None:
    """This region's bucket; the S3 client is built at the first large verdict, not at start."""
    if not settings.claim_check_bucket:
        return None
    from chalicelib.adapters.s3_claim_check import S3ClaimCheckStore

    return S3ClaimCheckStore(_LazyClient(lambda: _aws_client("s3", settings)), settings.claim_check_bucket)


class _LazyClient:
    """Builds a boto3 client on first attribute access (most orders never touch S3)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._client: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
        return getattr(self._client, name)


def _credit_service(
    settings: Settings, pool: urllib3.PoolManager, http_settings: HttpSettings, keys: AppKeys
) -> CreditService:
    from chalicelib.adapters.credit_dynamodb import PynamoCreditStore, credit_table
    from chalicelib.adapters.http_bureau import HttpCreditBureau

    store = PynamoCreditStore(credit_table(settings.credit_table, settings.region, settings.aws_endpoint_url))
    return CreditService(
        store=store,
        bureau=HttpCreditBureau(_partner("bureau", settings, pool, http_settings)),
        policies=PolicyProvider(store, settings.policy_ttl_seconds),
        cursors=DecisionCursors.with_key(keys.cursor),
    )


def _region_switch(settings: Settings) -> RegionSwitch:
    """The fence, reading the switch alarm in the dr region; no switch region configured: never fenced."""
    if not settings.failover_switch_region:
        return AlwaysInService()
    from chalicelib.adapters.failover_switch import CloudWatchFailoverSwitch
    from chalicelib.adapters.health_probes import PROBE_CONFIG
    from chalicelib.failover import Fence

    cloudwatch = _aws_client("cloudwatch", settings, settings.failover_switch_region, PROBE_CONFIG)
    return Fence(CloudWatchFailoverSwitch(cloudwatch, settings.failover_switch_alarm), settings.role)


def _takeover(settings: Settings) -> Takeover | None:
    """The standby's latch: only a non-primary region with the primary's health URL and the switch's region."""
    if settings.role == PRIMARY_ROLE or not settings.peer_health_url or not settings.failover_switch_region:
        return None
    from chalicelib.adapters.failover_switch import CloudWatchFailoverSwitch, CloudWatchSwitchLatch
    from chalicelib.adapters.health_probes import PROBE_CONFIG
    from chalicelib.adapters.peer_health import HttpPeerHealth
    from chalicelib.takeover import Probing

    cloudwatch = _aws_client("cloudwatch", settings, settings.failover_switch_region, PROBE_CONFIG)
    alarm = settings.failover_switch_alarm
    try:
        return Takeover(
            HttpPeerHealth(settings.peer_health_url, settings.peer_probe_timeout),
            CloudWatchFailoverSwitch(cloudwatch, alarm, ttl_seconds=0.0),  # read fresh: the decision is now
            CloudWatchSwitchLatch(cloudwatch, alarm),
            Probing(settings.peer_probes, settings.peer_probe_interval),
        )
    except ValueError as exc:
        raise ConfigurationError(f"AME_PEER_PROBES / AME_PEER_PROBE_INTERVAL_SECONDS: {exc}") from None


def _deep_health(settings: Settings) -> DeepHealth:
    from chalicelib.adapters.health_probes import PROBE_CONFIG, DynamoDbReachable, SqsReachable

    return DeepHealth(
        [
            DynamoDbReachable(_aws_client("dynamodb", settings, config=PROBE_CONFIG), settings.orders_table),
            SqsReachable(_aws_client("sqs", settings, config=PROBE_CONFIG), settings.envelope_requests_queue),
        ]
    )


def _aws_client(service: str, settings: Settings, region: str | None = None, config: Any = None) -> Any:
    import boto3

    return boto3.client(
        service, region_name=region or settings.region, endpoint_url=settings.aws_endpoint_url, config=config
    )


def credit_store_from_env(env: Mapping[str, str]) -> CreditStore:
    """For operator commands (backtest, policy publishing) that need only the credit table."""
    from chalicelib.adapters.credit_dynamodb import PynamoCreditStore, credit_table

    table = credit_table(
        env.get("AME_CREDIT_TABLE", CREDIT_TABLE), region_from(env), env.get("AWS_ENDPOINT_URL") or None
    )
    return PynamoCreditStore(table)


_lock = threading.Lock()
_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                configure_logging(os.environ.get("AME_LOG_LEVEL", "INFO"))
                start_telemetry(os.environ)
                _container = build_container(Settings.from_env(os.environ))
    return _container


METRICS_VARIABLE = "AME_METRICS"


def metrics_backend_wanted(env: Mapping[str, str]) -> bool:
    """`AME_METRICS`: `emf` or `off`; unset, EMF in Lambda only (locally the lines would flood the terminal)."""
    choice = env.get(METRICS_VARIABLE, "").strip().lower()
    if choice not in {"", "emf", "off"}:
        raise ConfigurationError(f"{METRICS_VARIABLE} must be emf or off, not {choice!r}")
    return choice == "emf" or (not choice and bool(env.get("AWS_LAMBDA_FUNCTION_NAME")))


def start_telemetry(env: Mapping[str, str]) -> None:
    """Once per process, before any client is built: the EMF metrics backend and, in Lambda with tracing on,
    X-Ray patching of boto3/botocore and requests (so partner and AWS calls are subsegments)."""
    from chalicelib.adapters.powertools import EmfBackend, start_tracing, tracing_wanted

    if metrics_backend_wanted(env):
        telemetry.set_backend(EmfBackend())
    if tracing_wanted(dict(env)):
        start_tracing()


_verifier: TokenVerifier | None = None


def token_verifier() -> TokenVerifier:
    """Built at the first request that needs a token (the queue worker never does)."""
    global _verifier
    if _verifier is None:
        with _lock:
            if _verifier is None:
                from chalicelib.identity.tokens import TokenVerifier

                _verifier = TokenVerifier(IdentitySettings.from_env(os.environ))
    return _verifier


def use_token_verifier(replacement: TokenVerifier | None) -> None:
    """Tests install a verifier bound to their own issuer here; None reads the environment again."""
    global _verifier
    _verifier = replacement


_audit_trail: AuditTrail | None = None


def audit_trail() -> AuditTrail:
    """Where the gatekeeper records each personal-data request: a line on stdout (`ame.audit`), which a
    log subscription carries to the audit bucket in AWS and the local stack copies to `.devstack/audit/`.
    Needs no settings, so a request the container cannot serve (503) is still recorded."""
    global _audit_trail
    if _audit_trail is None:
        from chalicelib.adapters.audit_log import StdoutAuditTrail

        _audit_trail = StdoutAuditTrail()
    return _audit_trail


def use_audit_trail(replacement: AuditTrail | None) -> None:
    """Tests install a fake trail here; None builds the stdout one again."""
    global _audit_trail
    _audit_trail = replacement


def use_container(replacement: Container | None) -> None:
    """Tests install fakes here; None makes the next call build from the environment again."""
    global _container
    _container = replacement
