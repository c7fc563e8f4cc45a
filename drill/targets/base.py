"""What every drill target offers, and the one way both read the regions' data.

Both targets read data the same way (boto3, per region) and fail over the same way: the primary
stops answering, routing moves, and the standby takes over by itself (its sweeper sets the failover
switch, an alarm in the dr region that Route 53's primary record and the primary's fence read);
failback is clearing it, the operator's step. They differ in the fault (local: the primary's worker
dies, then its DynamoDB is impaired and replication out of it stops; AWS: a managed service cannot
be impaired, so the primary's API function is throttled to nothing) and in how routing is observed.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import requests

from chalicelib.adapters.credit_dynamodb import decision_item_key
from chalicelib.adapters.dynamodb import order_item_key
from chalicelib.settings import CREDIT_TABLE, ENVELOPE_RESULTS_QUEUE, NOTIFICATIONS_QUEUE, ORDERS_TABLE
from drill.canary import CanarySubjects
from drill.model import MessageCounts


@dataclass(frozen=True)
class Names:
    """The tables and queues a drill reads: the platform's defaults unless a stack's outputs name others."""

    orders_table: str = ORDERS_TABLE
    credit_table: str = CREDIT_TABLE
    results_queue: str = ENVELOPE_RESULTS_QUEUE
    notifications_queue: str = NOTIFICATIONS_QUEUE


class Regions:
    """Reads both regions' tables and queues directly, bypassing the API (and the router)."""

    def __init__(
        self, regions: tuple[str, str], names: Names, endpoint_url: str | None = None, **credentials: str
    ) -> None:
        self.names = names
        options = {"endpoint_url": endpoint_url, **credentials}
        self._dynamodb = {r: boto3.client("dynamodb", region_name=r, **options) for r in regions}
        self._sqs = {r: boto3.client("sqs", region_name=r, **options) for r in regions}

    def dynamodb(self, region: str) -> Any:
        return self._dynamodb[region]

    def item(self, region: str, kind: str, key: str) -> dict[str, Any] | None:
        """A canary's item (`order` or `decision`) as that region holds it, strongly consistent."""
        if kind == "order":
            table, item_key = self.names.orders_table, order_item_key(key)
        else:
            table, item_key = self.names.credit_table, decision_item_key(key)
        item: dict[str, Any] | None = (
            self._dynamodb[region].get_item(TableName=table, Key=item_key, ConsistentRead=True).get("Item")
        )
        return item

    def scan(self, region: str, table: str) -> list[dict[str, Any]]:
        pages = self._dynamodb[region].get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        return [item for page in pages for item in page["Items"]]

    def drain(self, region: str, queue: str) -> list[dict[str, Any]]:
        """Every message in a queue, hidden for five minutes (not deleted): the drill only counts them."""
        sqs = self._sqs[region]
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        messages: list[dict[str, Any]] = []
        empty = 0
        while empty < 3:
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300, MessageAttributeNames=["All"]
            ).get("Messages", [])
            empty = 0 if batch else empty + 1
            messages.extend(batch)
        return messages

    def dedup_ids(self, region: str, queue: str) -> list[str]:
        return [
            m.get("MessageAttributes", {}).get("dedup_id", {}).get("StringValue", "?")
            for m in self.drain(region, queue)
        ]

    def sent(self, queue: str) -> Counter[str]:
        """How often each deduplication id sits in `queue`, over every region."""
        return Counter(dedup_id for region in self._sqs for dedup_id in self.dedup_ids(region, queue))


def checksum(items: list[dict[str, Any]]) -> str:
    """Order-independent content hash of DynamoDB items (their wire JSON)."""
    lines = sorted(json.dumps(item, sort_keys=True) for item in items)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


class Target(ABC):
    name: str
    primary: str
    secondary: str
    public_url: str
    data: Regions
    replication_lag_source: str
    """What `replication_lag_ms` reports, in words, for the report beside the figure the drill measures."""

    def api_headers(self) -> dict[str, str]:
        """What the canary's API requests carry besides their own headers: the local target's bearer token."""
        return {}

    @abstractmethod
    def canary_subjects(self) -> CanarySubjects:
        """The order and credit application the canary writes: entities this target's partners know."""

    @abstractmethod
    def regional_url(self, region: str) -> str: ...

    @abstractmethod
    def replication_lag_ms(self) -> float | None:
        """What the platform itself reports (local replicator, CloudWatch in AWS); None if unknown."""

    @abstractmethod
    def inject_fault(self, region: str) -> None: ...

    @abstractmethod
    def set_switch(self, out_of_service: bool) -> None:
        """The failover switch, written in the standby region (the one writer: put the metric, set the alarm)."""

    takeover_timeout_seconds: float = 60.0
    """How long the drill waits, after failover, for the standby's sweeper to set the switch by itself."""
    takeover_poll_seconds: float = 0.25

    def take_over(self, region: str) -> None:
        """The drill's fallback when the standby's latch did not act: the switch holds `region` out until failback."""
        self.set_switch(out_of_service=True)

    @abstractmethod
    def switch_set(self) -> bool:
        """The switch alarm holds the primary out (ALARM), as read in the standby region now."""

    @abstractmethod
    def recover(self, region: str) -> None:
        """The fault ends; `region` stays out while the switch is set."""

    def fail_back(self, region: str) -> None:
        """The operator's step: clear the switch; routing returns once `region`'s health checks pass."""
        self.set_switch(out_of_service=False)

    @abstractmethod
    def detected_unhealthy(self, region: str, since: datetime) -> datetime | None:
        """When routing first saw the region unhealthy after `since`."""

    def healthy(self, region: str) -> bool:
        return self.health_status(region) == 200

    def health_status(self, region: str) -> int | None:
        """What the region's own `/v1/health` answers (past the router); None when nothing answers."""
        try:
            return requests.get(f"{self.regional_url(region)}/v1/health", timeout=3).status_code
        except requests.RequestException:
            return None

    def message_counts(self) -> MessageCounts | None:
        """Results and notifications sent during the drill, by dedup id, over both regions; None in AWS."""
        return None
