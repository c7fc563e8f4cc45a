from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.adapters.sqs import QueueAddress, SqsEnvelopePublisher, SqsEnvelopeQueue
from chalicelib.orders.errors import QueueUnavailable
from chalicelib.settings import Settings
from devstack.aws import ensure_queue, sqs_client

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
    publisher.publish_result({"order_key": "ord_1", "quorum": True}, dedup_id="ord_1")
    publisher.notify_signers([(f"ord_1:{n}", {"cpf": str(n)}) for n in range(23)])
    assert [json.loads(m["Body"]) for m in drain(sqs, results_url)] == [{"order_key": "ord_1", "quorum": True}]
    notices = drain(sqs, notifications_url)
    assert sorted(int(json.loads(m["Body"])["cpf"]) for m in notices) == list(range(23))


def test_a_fifo_queue_drops_a_resend_of_the_same_notification(settings: Settings) -> None:
    # GIVEN FIFO result and notification queues, as deployed
    sqs = sqs_client(settings)
    results, notifications = f"{settings.envelope_results_queue}.fifo", f"{settings.notifications_queue}.fifo"
    urls = [ensure_queue(sqs, name, 2, 5) for name in (results, notifications)]
    publisher = SqsEnvelopePublisher(sqs, QueueAddress(sqs, results), QueueAddress(sqs, notifications))
    # WHEN a worker sends, dies before recording it, and its redelivery sends everything again
    for _ in range(2):
        publisher.publish_result({"order_key": "ord_1"}, dedup_id="ord_1")
        publisher.notify_signers([("ord_1:111", {"cpf": "111"}), ("ord_1:222", {"cpf": "222"})])
    # THEN SQS kept one result and one notification per signer
    attribute = "ApproximateNumberOfMessages"
    depths = [
        int(sqs.get_queue_attributes(QueueUrl=u, AttributeNames=[attribute])["Attributes"][attribute]) for u in urls
    ]
    assert depths == [1, 2]
