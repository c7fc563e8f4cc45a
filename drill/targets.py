"""Where a drill runs: the local two-region environment, or the two deployed stacks.

Both targets read data the same way (boto3, per region); they differ in how a region is
failed (local: its API and worker are killed and replication out of it stops; AWS: the
region-out-of-service switch that `/v1/health` reads) and in how routing is observed.
"""

from __future__ import annotations

import hashlib
import json
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import requests

from chalicelib.settings import region_switch_parameter
from devstack.regions import PRIMARY, SECONDARY, TwoRegionStack

TERMINAL = frozenset({"QUORUM_MET", "NO_QUORUM", "FAILED"})


@dataclass(frozen=True)
class Names:
    orders_table: str = "ame-orders"
    credit_table: str = "ame-credit"
    results_queue: str = "ame-envelope-results.fifo"
    notifications_queue: str = "ame-notifications.fifo"


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
            table, item_key = self.names.orders_table, {"order_key": {"S": key}}
        else:
            table, item_key = self.names.credit_table, {"pk": {"S": f"DECISION#{key}"}, "sk": {"S": "DECISION"}}
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

    @abstractmethod
    def regional_url(self, region: str) -> str: ...

    @abstractmethod
    def replication_lag_ms(self) -> float | None:
        """What the platform itself reports (local replicator, CloudWatch in AWS); None if unknown."""

    @abstractmethod
    def inject_fault(self, region: str) -> None: ...

    @abstractmethod
    def recover(self, region: str) -> None: ...

    @abstractmethod
    def detected_unhealthy(self, region: str, since: datetime) -> datetime | None:
        """When routing first saw the region unhealthy after `since`."""

    def healthy(self, region: str) -> bool:
        try:
            return requests.get(f"{self.regional_url(region)}/v1/health", timeout=3).status_code == 200
        except requests.RequestException:
            return False

    def message_counts(self) -> tuple[Counter[str], Counter[str]] | None:
        """Results and notifications sent during the drill, by dedup id, over both regions; None in AWS."""
        return None


class LocalTarget(Target):
    name = "local"

    def __init__(self, stack: TwoRegionStack, stranded_window_seconds: float = 1.0) -> None:
        self.stack = stack
        self.stranded_window = stranded_window_seconds
        self.primary, self.secondary = PRIMARY, SECONDARY
        self.public_url = stack.public_url
        env = stack.env()  # the local endpoint accepts the stack's placeholder credentials
        self.data = Regions(
            (PRIMARY, SECONDARY),
            Names(),
            endpoint_url=stack.aws_url,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def regional_url(self, region: str) -> str:
        url: str = self.stack.region_url(region)
        return url

    def replication_lag_ms(self) -> float | None:
        directions = self.stack.replication("status", "")["directions"]
        lags = [d["last_lag_ms"] for d in directions if d["last_lag_ms"] is not None]
        return max(lags) if lags else None

    def inject_fault(self, region: str) -> None:
        """A region lost: its workers die, then its API, and what it wrote stops replicating out of it.

        The workers go `stranded_window` seconds first, so orders the API still accepts wait in the
        region's own queue: the stranded work the DR sweeper exists for.
        """
        self.stack.stop_region(region, parts=("worker",))
        time.sleep(self.stranded_window)
        self.stack.replication("pause", region)
        self.stack.stop_region(region, parts=("api",))

    def recover(self, region: str) -> None:
        """The recovery procedure: data first, then traffic, then the stale queue.

        Replication resumes; the API comes back and waits until routing prefers it again (which
        stops the standby's sweeper); once replication has drained both ways, the worker starts on
        the requests stranded in this region's queue and finds decided whatever the standby decided.
        """
        self.stack.replication("resume", region)
        self.stack.start_region(region, parts=("api",))
        wait_for(lambda: self.stack.routing_status()["active"] == region, timeout=120, every=0.2)
        wait_for(self._replication_drained, timeout=120, every=0.2)
        self.stack.start_region(region, parts=("worker",))

    def _replication_drained(self) -> bool:
        """Both directions caught up: no change waits longer than the modelled lag (plus 200 ms)."""
        directions = self.stack.replication("status", "")["directions"]
        return all(not d["paused"] and d["overdue_ms"] <= 200 for d in directions)

    def detected_unhealthy(self, region: str, since: datetime) -> datetime | None:
        for transition in self.stack.routing_status()["transitions"]:
            at = datetime.fromisoformat(transition["at"])
            if transition["event"] == "unhealthy" and transition["region"] == region and at >= since:
                return at
        return None

    def message_counts(self) -> tuple[Counter[str], Counter[str]]:
        results: Counter[str] = Counter()
        notifications: Counter[str] = Counter()
        for region in (self.primary, self.secondary):
            results.update(self.data.dedup_ids(region, self.data.names.results_queue))
            notifications.update(self.data.dedup_ids(region, self.data.names.notifications_queue))
        return results, notifications


@dataclass(frozen=True)
class StackOutputs:
    """`pulumi stack output --json` of one stack."""

    region: str
    api_url: str
    regional_api_url: str
    health_check_id: str
    table_names: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> StackOutputs:
        raw = json.loads(path.read_text())
        return cls(raw["region"], raw["api_url"], raw["regional_api_url"], raw["health_check_id"], raw["table_names"])


class AwsTarget(Target):
    """The deployed stacks. `endpoint_url` points every client at a local endpoint for tests."""

    name = "aws"

    def __init__(self, prod: StackOutputs, dr: StackOutputs, endpoint_url: str | None = None) -> None:
        self.prod, self.dr = prod, dr
        self.primary, self.secondary = prod.region, dr.region
        self.public_url = prod.api_url
        names = Names(orders_table=prod.table_names["orders"], credit_table=prod.table_names["credit"])
        self.data = Regions((self.primary, self.secondary), names, endpoint_url=endpoint_url)
        self._ssm = {
            r: boto3.client("ssm", region_name=r, endpoint_url=endpoint_url) for r in (self.primary, self.secondary)
        }
        self._route53 = boto3.client("route53", region_name="us-east-1", endpoint_url=endpoint_url)
        self._cloudwatch = boto3.client("cloudwatch", region_name=self.primary, endpoint_url=endpoint_url)

    def outputs(self, region: str) -> StackOutputs:
        return self.prod if region == self.primary else self.dr

    def regional_url(self, region: str) -> str:
        return self.outputs(region).regional_api_url

    def plan(self) -> list[str]:
        """Every step `failover --target aws` takes, for `--dry-run`."""
        p, s = self.primary, self.secondary
        return [
            f"preflight: GET {self.regional_url(p)}/v1/health and {self.regional_url(s)}/v1/health must answer 200",
            f"preflight: Route 53 health checks {self.prod.health_check_id} and {self.dr.health_check_id} healthy",
            f"preflight: CloudWatch AWS/DynamoDB ReplicationLatency for {self.data.names.orders_table} {p} -> {s}",
            f"traffic: canary orders and credit decisions through {self.public_url}, each acknowledged write read back",
            f"fault: ssm put-parameter --region {p} --name {region_switch_parameter(p)} --value true --overwrite",
            f"measure RTO: until a canary write and read are answered by {s} (X-Ame-Region)",
            f"measure RPO: acknowledged canaries missing in {s} (dynamodb get-item --consistent-read)",
            f"hold: serve from {s}; its sweeper re-queues orders stuck in PROCESSING",
            f"failback: ssm put-parameter --region {p} --name {region_switch_parameter(p)} --value false --overwrite",
            f"measure: until a canary write and read are answered by {p}; canaries acknowledged by {s} missing in {p}",
            "verify: every acknowledged canary in both regions, identical; every canary order in a terminal state",
            "report: drill-report/report.json, report.md, timeline.png; exit 1 if an objective was missed",
        ]

    def set_switch(self, region: str, out_of_service: bool) -> None:
        self._ssm[region].put_parameter(
            Name=region_switch_parameter(region),
            Value="true" if out_of_service else "false",
            Type="String",
            Overwrite=True,
        )

    def inject_fault(self, region: str) -> None:
        self.set_switch(region, out_of_service=True)

    def recover(self, region: str) -> None:
        self.set_switch(region, out_of_service=False)

    def detected_unhealthy(self, region: str, since: datetime) -> datetime | None:
        checks = self._route53.get_health_check_status(HealthCheckId=self.outputs(region).health_check_id)
        statuses = [o["StatusReport"]["Status"] for o in checks["HealthCheckObservations"]]
        failing = sum(1 for status in statuses if not status.startswith("Success"))
        return datetime.now(UTC) if statuses and failing * 2 > len(statuses) else None

    def replication_lag_ms(self) -> float | None:
        end = datetime.now(UTC)
        stats = self._cloudwatch.get_metric_statistics(
            Namespace="AWS/DynamoDB",
            MetricName="ReplicationLatency",
            Dimensions=[
                {"Name": "TableName", "Value": self.data.names.orders_table},
                {"Name": "ReceivingRegion", "Value": self.secondary},
            ],
            StartTime=datetime.fromtimestamp(end.timestamp() - 900, UTC),
            EndTime=end,
            Period=300,
            Statistics=["Average"],
        )["Datapoints"]
        return max((float(p["Average"]) for p in stats), default=None)


def wait_for(check: Callable[[], bool], timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return False
