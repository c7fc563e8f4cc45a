"""A 2,000-representative company decides, publishes and reads back through the claim-check bucket (moto)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.adapters.s3_claim_check import S3ClaimCheckStore
from chalicelib.identity.model import Caller, Scope
from chalicelib.orders.claim_check import ClaimCheck, ClaimCheckError, decode_parties
from chalicelib.orders.model import OrderStatus
from chalicelib.orders.wire import order_to_wire
from chalicelib.settings import Settings
from devstack import demo_data as demo
from devstack.aws import ensure_resources, sqs_client
from devstack.worker import load_handler, poll_once
from tests.integration.test_worker import accept, queue

pytestmark = pytest.mark.integration

SQS_MESSAGE_LIMIT = 256 * 1024
DYNAMODB_ITEM_LIMIT = 400 * 1024


@pytest.fixture
def world(settings: Settings) -> Iterator[bootstrap.Container]:
    ensure_resources(settings, visibility_timeout=60)
    container = bootstrap.build_container(settings)
    bootstrap.use_container(container)
    yield container
    bootstrap.use_container(None)


def s3(settings: Settings) -> Any:
    return boto3.client("s3", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)


def raw_item(settings: Settings, order_key: str) -> dict[str, Any]:
    dynamodb = boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)
    item: dict[str, Any] = dynamodb.get_item(TableName=settings.orders_table, Key={"order_key": {"S": order_key}})[
        "Item"
    ]
    return item


def item_size(settings: Settings, order_key: str) -> int:
    """DynamoDB's measure, closely enough (over, if anything): names plus values' UTF-8 lengths."""
    return len(json.dumps(raw_item(settings, order_key)).encode())


def test_the_store_round_trips_encrypted_and_rewrites_the_same_object(world: bootstrap.Container) -> None:
    settings = world.settings
    assert settings.claim_check_bucket
    store = S3ClaimCheckStore(s3(settings), settings.claim_check_bucket)
    first, again = store.put("ord_1", b'[{"a":1}]'), store.put("ord_1", b'[{"a":1}]')
    assert first == again and store.get(first) == b'[{"a":1}]'
    head = s3(settings).head_object(Bucket=first.bucket, Key=first.key)
    assert head["ServerSideEncryption"] == "aws:kms" and head["ContentType"] == "application/json"
    with pytest.raises(ClaimCheckError):
        store.get(ClaimCheck(first.bucket, "orders/ord_1/nothing.json", first.sha256, first.size))


def test_a_2000_representative_company_decides_publishes_and_reads_back_whole(world: bootstrap.Container) -> None:
    settings = world.settings
    sqs = sqs_client(settings)
    # GIVEN an order for the demo company with 2,000 directors
    key = accept(world, demo.LARGE_COMPANY.cnpj)
    url, arn = queue(sqs, settings.envelope_requests_queue)
    # WHEN the worker decides it
    started = time.monotonic()
    assert poll_once(sqs, url, arn, settings.region, load_handler("assemble_envelopes"), wait=1) == 1
    decided_in = time.monotonic() - started
    # THEN the item holds a claim check, not the parties, and stays well under DynamoDB's limit
    size = item_size(settings, key)
    assert size < DYNAMODB_ITEM_LIMIT
    assert "parties" not in raw_item(settings, key) and "parties_claim_check" in raw_item(settings, key)
    # AND the result message names the object instead of carrying 2,000 participants
    results_url, _ = queue(sqs, settings.envelope_results_queue)
    (message,) = sqs.receive_message(QueueUrl=results_url, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(message["Body"])
    assert len(message["Body"].encode()) < SQS_MESSAGE_LIMIT
    assert body["order_key"] == key and body["quorum"] is True and "parties" not in body
    ref = ClaimCheck.from_wire(body["claim_check"])
    assert ref.bucket == settings.claim_check_bucket
    # AND a consumer following the README fetches every participant from the object
    raw = s3(settings).get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read()
    versions = s3(settings).list_object_versions(Bucket=ref.bucket, Prefix=f"orders/{key}/")["Versions"]
    assert [v["Key"] for v in versions] == [ref.key]  # the item's and the message's object, written once
    (party,) = decode_parties(ref.verify(raw))
    assert len(party["participants"]) == demo.LARGE_COMPANY_SIZE
    # AND the API's read returns the whole verdict
    order = world.orders.get(key, Caller("demo-client", demo.AREA, frozenset(Scope)))
    assert order.status is OrderStatus.QUORUM_MET
    answer = order_to_wire(order)
    assert len(answer["parties"][0]["participants"]) == demo.LARGE_COMPANY_SIZE
    print(
        f"\n2,000 reps: decided in {decided_in:.1f} s; item {size} B; message {len(message['Body'])} B; "
        f"object {ref.size} B; API answer {len(json.dumps(answer))} B"
    )


def test_a_verdict_between_the_limits_stays_in_the_item_and_leaves_the_message(world: bootstrap.Container) -> None:
    # GIVEN a decided order whose parties fit an item (< 300 KB) but not a message (> 200 KiB)
    from tests.unit.test_claim_check import order_of, verdict_of

    settings = world.settings
    repository = world.orders.repository
    verdict = verdict_of(1100)
    size = len(json.dumps(order_to_wire(order_of(verdict))["parties"]).encode())
    assert 200 * 1024 < size < 300_000
    key = accept(world, demo.ACME.cnpj)
    # WHEN it is recorded twice (a redelivery) and its result body built
    repository.record_decision(key, verdict, order_of(verdict).created_at)
    order = repository.record_decision(key, verdict, order_of(verdict).created_at)
    publisher = world.orders.publisher
    body = publisher.result_body(order)  # type: ignore[attr-defined]
    # THEN the item holds the parties inline and the message a claim check
    assert item_size(settings, key) < DYNAMODB_ITEM_LIMIT
    assert "parties" in raw_item(settings, key) and "parties_claim_check" not in raw_item(settings, key)
    stored = repository.get(key)
    assert stored is not None and stored.verdict == verdict
    assert body["claim_check"] is not None and "parties" not in body
    assert len(json.dumps(body)) < 1024
