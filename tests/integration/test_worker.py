"""The local worker + Chalice SQS handler + real adapters, with moto's SQS redrive semantics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.identity.model import Caller, Scope
from chalicelib.orders.model import OrderStatus
from chalicelib.settings import Settings
from devstack import demo_data as demo
from devstack.aws import ensure_resources, sqs_client
from devstack.worker import load_handler, poll_once

pytestmark = pytest.mark.integration


@pytest.fixture
def world(settings: Settings) -> Iterator[bootstrap.Container]:
    ensure_resources(settings, visibility_timeout=1)
    container = bootstrap.build_container(settings)
    bootstrap.use_container(container)
    yield container
    bootstrap.use_container(None)


def accept(container: bootstrap.Container, *documents: str) -> str:
    from chalicelib.orders import services
    from chalicelib.orders.requests import parse_order_request

    command = services.CreateOrder(parse_order_request(demo.order_body(*documents)))
    return container.orders.create(command, Caller("demo-client", command.request.area_id, frozenset(Scope))).order_key


def queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def depth(sqs: Any, name: str) -> int:
    url, _ = queue(sqs, name)
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_worker_decides_and_deletes_successful_messages(world: bootstrap.Container) -> None:
    settings = world.settings
    sqs = sqs_client(settings)
    key = accept(world, demo.ACME.cnpj, demo.HELENA.cpf)
    url, arn = queue(sqs, settings.envelope_requests_queue)
    assert poll_once(sqs, url, arn, settings.region, load_handler("assemble_envelopes"), wait=1) == 1
    order = world.orders.repository.get(key)
    assert order is not None and order.status is OrderStatus.QUORUM_MET
    assert depth(sqs, settings.envelope_requests_queue) == 0
    results_url, _ = queue(sqs, settings.envelope_results_queue)
    (result,) = sqs.receive_message(QueueUrl=results_url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(result["Body"])["order_key"] == key
    assert depth(sqs, settings.notifications_queue) == 4  # Ana, Bruno, Carla (requester) + Helena (guarantor)


def test_a_failing_partner_ends_in_the_dlq_with_the_order_failed_then_replays(world: bootstrap.Container) -> None:
    settings = world.settings
    sqs = sqs_client(settings)
    key = accept(world, demo.FLAKY.cnpj)
    url, arn = queue(sqs, settings.envelope_requests_queue)
    handler = load_handler("assemble_envelopes")
    deadline = time.monotonic() + 20
    while depth(sqs, f"{settings.envelope_requests_queue}-dlq") == 0 and time.monotonic() < deadline:
        poll_once(sqs, url, arn, settings.region, handler, wait=1)
    failed = world.orders.repository.get(key)
    assert failed is not None and (failed.status, failed.reason) == (OrderStatus.FAILED, "PARTNER_UNAVAILABLE")
    assert depth(sqs, f"{settings.envelope_requests_queue}-dlq") == 1
    assert depth(sqs, settings.envelope_results_queue) == 0

    # WHEN the operator replays it, as the runbook says (locally: --target local)
    env = {**os.environ, "AWS_ENDPOINT_URL": settings.aws_endpoint_url or "", "AWS_REGION": settings.region}
    source = settings.envelope_requests_queue
    command = [sys.executable, "-m", "chalicelib.commands.replay_dlq", "--target", "local", "--queue", source]
    replayed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert replayed.returncode == 0, replayed.stderr
    assert f"target: local endpoint {settings.aws_endpoint_url}, region {settings.region}" in replayed.stderr
    assert replayed.stdout.strip() == (
        f"replayed 1 message(s) from {source}-dlq to {source}; "
        "each replayed order that was FAILED is re-opened (PROCESSING) and decided again"
    )
    assert depth(sqs, settings.envelope_requests_queue) == 1
    assert depth(sqs, f"{settings.envelope_requests_queue}-dlq") == 0
    # the replayed request is the operator's: the one kind that re-opens a FAILED order
    (request,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert json.loads(request["Body"]) == {"order_key": key, "reopen": True}
