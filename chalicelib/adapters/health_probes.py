"""What `/v1/health` probes: one cheap call each to DynamoDB and SQS, with short timeouts and no retries.

A GetItem of a key no order has (the orders table) and GetQueueAttributes on the request queue: both
are what the API's writes need, and neither reads or changes data.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.dynamodb import order_item_key
from chalicelib.adapters.sqs import QueueAddress
from chalicelib.health import Dependency, DependencyDown

PROBE_CONFIG = Config(connect_timeout=0.5, read_timeout=1.0, retries={"max_attempts": 1, "mode": "standard"})
"""One attempt within the health budget (1.5 s: 0.5 s to connect, 1 s to answer): a retry is the next check's job."""
ABSENT_ORDER_KEY = "ord_health_probe"


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__


class DynamoDbReachable(Dependency):
    name = "dynamodb"

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def check(self) -> None:
        try:
            self._client.get_item(TableName=self._table, Key=order_item_key(ABSENT_ORDER_KEY))
        except (ClientError, BotoCoreError) as exc:
            raise DependencyDown(_reason(exc)) from None


class SqsReachable(Dependency):
    name = "sqs"

    def __init__(self, client: Any, queue: str) -> None:
        self._client = client
        self._queue = QueueAddress(client, queue)

    def check(self) -> None:
        try:
            self._client.get_queue_attributes(QueueUrl=self._queue.url, AttributeNames=["QueueArn"])
        except (ClientError, BotoCoreError) as exc:
            raise DependencyDown(_reason(exc)) from None
