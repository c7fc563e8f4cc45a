"""SQS adapters: the envelope-requests queue and the results/notifications publisher."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import correlation
from chalicelib.orders.claim_check import MESSAGE_INLINE_LIMIT, ClaimCheckError, encode_parties, exceeds
from chalicelib.orders.errors import QueueUnavailable
from chalicelib.orders.model import Order, SignerNotice
from chalicelib.orders.ports import ClaimCheckStore, EnvelopePublisher, EnvelopeQueue
from chalicelib.orders.wire import notice_to_wire, result_message, verdict_to_wire
from chalicelib.settings import is_fifo

_BATCH = 10


class QueueAddress:
    """Resolves a queue URL on first use, so building the app makes no AWS call."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self.name = name
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = self._client.get_queue_url(QueueName=self.name)["QueueUrl"]
        return self._url


def _dedup_attribute(dedup_id: str) -> dict[str, Any]:
    """Consumers drop repeats by this id: SQS standard queues deliver at least once. The correlation id
    (when one is bound) rides along, so the worker and the areas' consumers log the same id as the POST."""
    return {"dedup_id": {"DataType": "String", "StringValue": dedup_id}, **correlation.message_attributes()}


def _fifo_fields(queue: QueueAddress, dedup_id: str) -> dict[str, str]:
    """On a FIFO queue SQS itself drops a resend of the same id (5 minutes); one group per order keeps order."""
    if not is_fifo(queue.name):
        return {}
    return {"MessageGroupId": dedup_id.split(":", 1)[0], "MessageDeduplicationId": dedup_id}


class SqsEnvelopeQueue(EnvelopeQueue):
    def __init__(self, client: Any, queue: QueueAddress) -> None:
        self._client = client
        self._queue = queue

    def enqueue(self, order_key: str) -> None:
        try:
            self._client.send_message(
                QueueUrl=self._queue.url,
                MessageBody=json.dumps({"order_key": order_key}),
                MessageAttributes=_dedup_attribute(order_key),
            )
        except (BotoCoreError, ClientError) as exc:
            raise QueueUnavailable(f"could not queue the envelope request ({type(exc).__name__})") from exc

    def waiting(self) -> int | None:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
        attributes = self._client.get_queue_attributes(QueueUrl=self._queue.url, AttributeNames=names)["Attributes"]
        return sum(int(attributes.get(name, "0")) for name in names)

    def redeliver_within(self, receipt_handle: str, seconds: int) -> None:
        self._client.change_message_visibility(
            QueueUrl=self._queue.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )


class SqsEnvelopePublisher(EnvelopePublisher):
    """A result over `MESSAGE_INLINE_LIMIT` is sent as a claim check to an object in `claim_checks`."""

    def __init__(
        self,
        client: Any,
        results: QueueAddress,
        notifications: QueueAddress,
        claim_checks: ClaimCheckStore | None = None,
    ) -> None:
        self._client = client
        self._results = results
        self._notifications = notifications
        self._claim_checks = claim_checks

    def result_body(self, order: Order) -> dict[str, Any]:
        """The message: whole if it fits, else with a claim check (the object written first)."""
        message = result_message(order)
        if not exceeds(message, MESSAGE_INLINE_LIMIT):
            return message
        if self._claim_checks is None:
            raise ClaimCheckError("this result needs the claim-check bucket, and none is configured")
        # The same bytes, hence the same object, the repository wrote for a verdict too large for its item.
        ref = self._claim_checks.put(order.order_key, encode_parties(verdict_to_wire(order.verdict)))
        return result_message(order, ref)

    def publish_result(self, order: Order) -> None:
        self._client.send_message(
            QueueUrl=self._results.url,
            MessageBody=json.dumps(self.result_body(order)),
            MessageAttributes=_dedup_attribute(order.order_key),
            **_fifo_fields(self._results, order.order_key),
        )

    def notify_signers(self, notices: Sequence[SignerNotice]) -> None:
        """SendMessageBatch, 10 a call (IAM authorizes it as sqs:SendMessage)."""
        for start in range(0, len(notices), _BATCH):
            chunk = notices[start : start + _BATCH]
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": json.dumps(notice_to_wire(notice)),
                    "MessageAttributes": _dedup_attribute(notice.dedup_id),
                    **_fifo_fields(self._notifications, notice.dedup_id),
                }
                for i, notice in enumerate(chunk)
            ]
            response = self._client.send_message_batch(QueueUrl=self._notifications.url, Entries=entries)
            if response.get("Failed"):
                raise RuntimeError(f"{len(response['Failed'])} notifications were not accepted by SQS")
