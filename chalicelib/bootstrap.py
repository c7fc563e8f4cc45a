"""Builds the ports from settings once per process, lazily, and hands them to the entry points.

Nothing here runs at import: the first request (or SQS batch) pays for clients and pools,
and tests swap in fakes with `use_container`.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.credit.policies import PolicyProvider
from chalicelib.credit.ports import CreditBureau, CreditStore
from chalicelib.logs import configure_logging
from chalicelib.orders.ports import (
    AlwaysInService,
    EnvelopePublisher,
    EnvelopeQueue,
    OrderRepository,
    RegionSwitch,
    TrafficProbe,
)
from chalicelib.orders.services import Clock, Partners
from chalicelib.settings import Settings, region_from


@dataclass(frozen=True)
class CreditPorts:
    store: CreditStore
    bureau: CreditBureau
    policies: PolicyProvider

    @staticmethod
    def new_decision_id() -> str:
        return f"dec_{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Container:
    settings: Settings
    partners: Partners
    repository: OrderRepository
    queue: EnvelopeQueue
    publisher: EnvelopePublisher
    executor: Executor
    clock: Clock
    credit: CreditPorts
    region_switch: RegionSwitch
    traffic_probe: TrafficProbe | None = None

    @staticmethod
    def new_order_key() -> str:
        return f"ord_{uuid.uuid4().hex}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_container(settings: Settings) -> Container:
    import boto3

    from chalicelib.adapters import http_partners as http
    from chalicelib.adapters.credit_dynamodb import PynamoCreditStore, credit_table
    from chalicelib.adapters.dynamodb import PynamoOrderRepository, bind_models
    from chalicelib.adapters.http_bureau import HttpCreditBureau
    from chalicelib.adapters.sqs import QueueAddress, SqsEnvelopePublisher, SqsEnvelopeQueue
    from chalicelib.adapters.ssm_switch import SsmRegionSwitch

    http_settings = http.HttpSettings(
        connect_timeout=settings.partner_connect_timeout,
        read_timeout=settings.partner_read_timeout,
        retries=settings.partner_retries,
        pool_size=settings.worker_threads,
    )
    session = http.new_session(http_settings)

    def client(name: str) -> http.PartnerClient:
        return http.PartnerClient(name, settings.partner_urls[name], session, http_settings)

    partners = Partners(
        parametrizer=http.HttpParametrizer(client("parametrizer")),
        domains=http.HttpDomainCatalog(client("domains")),
        powers=http.HttpPowersDirectory(client("powers")),
        people=http.HttpPeopleDirectory(client("people")),
        operators=http.HttpOperatorRegistry(client("operators")),
    )
    models = bind_models(settings.orders_table, settings.idempotency_table, settings.region, settings.aws_endpoint_url)
    sqs = boto3.client("sqs", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)
    credit_store = PynamoCreditStore(credit_table(settings.credit_table, settings.region, settings.aws_endpoint_url))
    return Container(
        settings=settings,
        partners=partners,
        repository=PynamoOrderRepository(models, settings.idempotency_ttl),
        queue=SqsEnvelopeQueue(sqs, QueueAddress(sqs, settings.envelope_requests_queue)),
        publisher=SqsEnvelopePublisher(
            sqs,
            QueueAddress(sqs, settings.envelope_results_queue),
            QueueAddress(sqs, settings.notifications_queue),
        ),
        executor=ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="partners"),
        clock=utc_now,
        credit=CreditPorts(
            store=credit_store,
            bureau=HttpCreditBureau(client("bureau")),
            policies=PolicyProvider(credit_store, settings.policy_ttl_seconds),
        ),
        region_switch=SsmRegionSwitch(
            boto3.client("ssm", region_name=settings.region, endpoint_url=settings.aws_endpoint_url),
            settings.out_of_service_parameter,
        )
        if settings.out_of_service_parameter
        else AlwaysInService(),
        traffic_probe=http.HttpTrafficProbe(session, settings.public_url) if settings.public_url else None,
    )


def credit_store_from_env(env: Mapping[str, str]) -> CreditStore:
    """For operator commands (backtest, policy publishing) that need only the credit table."""
    from chalicelib.adapters.credit_dynamodb import PynamoCreditStore, credit_table

    table = credit_table(
        env.get("AME_CREDIT_TABLE", "ame-credit"), region_from(env), env.get("AWS_ENDPOINT_URL") or None
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
                _container = build_container(Settings.from_env(os.environ))
    return _container


def use_container(replacement: Container | None) -> None:
    """Tests install fakes here; None makes the next call build from the environment again."""
    global _container
    _container = replacement
