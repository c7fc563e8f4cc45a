"""Concurrent POSTs with one Idempotency-Key against DynamoDB Local: real transactions, real conflicts.

moto's transactions are not atomic, so this runs only against DynamoDB Local (devstack/dynamodb_local.py says
where it is looked for) and is skipped with the reason when it is not there. The order service is the real one
(partners: the simulator; queue: SQS on moto), its repository the real PynamoDB one on DynamoDB Local. Every
request reaches its claim at the same moment (a barrier before the transaction), so DynamoDB cancels the
overlapping ones with `TransactionConflict`; every answer goes through the API's own error mapping.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from chalice.app import Response

from chalicelib import bootstrap
from chalicelib.adapters.dynamodb import PynamoOrderRepository, bind_models, create_tables
from chalicelib.api.http import api_errors, json_response
from chalicelib.identity.model import Caller, Scope
from chalicelib.orders.errors import IdempotencyKeyTaken
from chalicelib.orders.model import IdempotencyRecord, Order
from chalicelib.orders.requests import parse_order_request
from chalicelib.orders.services import CreateOrder, OrderService
from chalicelib.settings import Settings
from devstack import dynamodb_local
from devstack.aws import ensure_resources
from devstack.demo_data import ACME, HELENA, order_body

ENGINE = dynamodb_local.locate()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(isinstance(ENGINE, str), reason=ENGINE if isinstance(ENGINE, str) else ""),
]
REQUESTS = 20
DIFFERENT_BODIES = 5


@pytest.fixture(scope="module")
def dynamodb_local_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert isinstance(ENGINE, dynamodb_local.Engine)
    with dynamodb_local.running(ENGINE, tmp_path_factory.mktemp("dynamodb-local") / "dynamodb-local.log") as url:
        yield url


class Contended(PynamoOrderRepository):
    """The real repository; each request's first claim waits until all are at theirs, and losses are counted."""

    def __init__(self, *args: Any, parties: int) -> None:
        super().__init__(*args)
        self.start = threading.Barrier(parties, timeout=30)
        self.first = threading.local()
        self.lock = threading.Lock()
        self.lost: Counter[str] = Counter()

    def add(self, order: Order, idempotency: IdempotencyRecord | None) -> None:
        if not getattr(self.first, "done", False):
            self.first.done = True
            self.start.wait()
        try:
            super().add(order, idempotency)
        except IdempotencyKeyTaken as lost:
            with self.lock:
                self.lost["TransactionConflict" if lost.contended else "ConditionalCheckFailed"] += 1
            raise


@dataclass(frozen=True)
class Answer:
    status: int
    code: str | None
    order_key: str | None
    replayed: bool | None


def post(service: OrderService, body: dict[str, Any], key: str) -> Answer:
    """The service's answer as the API gives it (its error mapping: 409, 503, ...)."""
    command = CreateOrder(parse_order_request(body), key)
    caller = Caller("demo-client", command.request.area_id, frozenset(Scope))

    def view() -> Response:
        accepted = service.create(command, caller)
        return json_response({"order_key": accepted.order_key, "replayed": accepted.replayed}, 202)

    response = api_errors(view)()
    payload = response.body if isinstance(response.body, dict) else {}
    error = payload.get("error", {})
    return Answer(response.status_code, error.get("code"), payload.get("order_key"), payload.get("replayed"))


def test_concurrent_creates_with_one_key_make_one_order_and_no_503(
    settings: Settings, dynamodb_local_url: str, tmp_path: Path
) -> None:
    ensure_resources(settings, visibility_timeout=30)  # the queues (moto)
    models = bind_models(settings.orders_table, settings.idempotency_table, settings.region, dynamodb_local_url)
    create_tables(models)  # as the local stack creates them on moto
    repository = Contended(models, timedelta(hours=24), parties=REQUESTS)
    service = replace(bootstrap.build_container(settings).orders, repository=repository)
    same = order_body(ACME.cnpj, HELENA.cpf)
    other = {**same, "amount": "1234.56"}
    bodies = [other if n < DIFFERENT_BODIES else same for n in range(REQUESTS)]

    with ThreadPoolExecutor(REQUESTS) as pool:
        answers = list(pool.map(lambda body: post(service, body, "contended-key"), bodies))

    orders = list(models.orders.scan(consistent_read=True))
    assert len(orders) == 1, f"{len(orders)} orders for one key"
    (order,) = orders
    winner = other if order.request["amount"] == other["amount"] else same
    by_status = Counter(answer.status for answer in answers)
    assert 503 not in by_status and 500 not in by_status, answers
    created = [a for a in answers if a.status == 202 and a.replayed is False]
    assert [a.order_key for a in created] == [order.order_key], answers
    for body, answer in zip(bodies, answers, strict=True):
        if body is winner:
            assert (answer.status, answer.order_key) == (202, order.order_key), answer
        else:
            assert (answer.status, answer.code) == (409, "IDEMPOTENCY_CONFLICT"), answer
    print(
        f"\n{REQUESTS} concurrent creates with one key: answers {dict(by_status)}, claims lost {dict(repository.lost)}"
    )
