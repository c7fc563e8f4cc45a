from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.adapters.sqs import QueueAddress, SqsEnvelopePublisher, SqsEnvelopeQueue
from chalicelib.orders.errors import QueueUnavailable
from chalicelib.orders.model import Order, OrderStatus, Signatory, SignerNotice
from chalicelib.orders.wire import result_message
from chalicelib.quorum.model import Contact, Role
from chalicelib.settings import Settings
from devstack.aws import ensure_queue, sqs_client
from tests.integration.test_dynamodb_repository import draft, met

pytestmark = pytest.mark.integration


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages"
    ):
        messages.extend(batch)
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return messages


def decided(order_key: str = "ord_" + "1" * 32) -> Order:
    return replace(draft(order_key), status=OrderStatus.QUORUM_MET, verdict=met())


def notices(order_key: str, cpfs: Iterable[str]) -> list[SignerNotice]:
    on_behalf = (Signatory(Role.REQUESTER, "11111111000191"),)
    return [SignerNotice(order_key, cpf, Contact(f"Person {cpf}"), on_behalf) for cpf in cpfs]


def test_enqueue_sends_the_order_key_with_a_dedup_id(settings: Settings) -> None:
    sqs = sqs_client(settings)
    url = ensure_queue(sqs, settings.envelope_requests_queue, 2, 5)
    SqsEnvelopeQueue(sqs, QueueAddress(sqs, settings.envelope_requests_queue)).enqueue("ord_1")
    (message,) = drain(sqs, url)
    assert json.loads(message["Body"]) == {"order_key": "ord_1"}
    assert message["MessageAttributes"]["dedup_id"]["StringValue"] == "ord_1"


def test_enqueue_to_a_missing_queue_is_queue_unavailable(settings: Settings) -> None:
    sqs = sqs_client(settings)
    with pytest.raises(QueueUnavailable):
        SqsEnvelopeQueue(sqs, QueueAddress(sqs, "no-such-queue")).enqueue("ord_1")


def test_publisher_sends_results_and_batches_many_notifications(settings: Settings) -> None:
    sqs = sqs_client(settings)
    results_url = ensure_queue(sqs, settings.envelope_results_queue, 2, 5)
    notifications_url = ensure_queue(sqs, settings.notifications_queue, 2, 5)
    publisher = SqsEnvelopePublisher(
        sqs, QueueAddress(sqs, settings.envelope_results_queue), QueueAddress(sqs, settings.notifications_queue)
    )
    order = decided()
    publisher.publish_result(order)
    publisher.notify_signers(notices(order.order_key, (str(n) for n in range(23))))
    (result,) = drain(sqs, results_url)
    assert json.loads(result["Body"]) == result_message(order)
    assert result["MessageAttributes"]["dedup_id"]["StringValue"] == order.order_key
    sent = drain(sqs, notifications_url)
    assert sorted(int(json.loads(m["Body"])["cpf"]) for m in sent) == list(range(23))
    assert {m["MessageAttributes"]["dedup_id"]["StringValue"] for m in sent} == {
        f"{order.order_key}:{n}" for n in range(23)
    }


def test_a_fifo_queue_drops_a_resend_of_the_same_notification(settings: Settings) -> None:
    # GIVEN FIFO result and notification queues, as deployed
    sqs = sqs_client(settings)
    results, notifications = f"{settings.envelope_results_queue}.fifo", f"{settings.notifications_queue}.fifo"
    urls = [ensure_queue(sqs, name, 2, 5) for name in (results, notifications)]
    publisher = SqsEnvelopePublisher(sqs, QueueAddress(sqs, results), QueueAddress(sqs, notifications))
    # WHEN a worker sends, dies before recording it, and its redelivery sends everything again
    order = decided()
    for _ in range(2):
        publisher.publish_result(order)
        publisher.notify_signers(notices(order.order_key, ("111", "222")))
    # THEN SQS kept one result and one notification per signer
    attribute = "ApproximateNumberOfMessages"
    depths = [
        int(sqs.get_queue_attributes(QueueUrl=u, AttributeNames=[attribute])["Attributes"][attribute]) for u in urls
    ]
    assert depths == [1, 2]
