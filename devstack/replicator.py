"""Local stand-in for DynamoDB global tables: tails each region's streams, applies to the other.

No local emulator implements global tables, so this process does their job between two regions
of the local AWS endpoint: every INSERT/MODIFY/REMOVE in one region is written to the other,
last writer wins on the item's update timestamp (`updated_at`, `last_updated`), and a write this
process made is never sent back (its echo carries the same timestamp, which the condition refuses).
In AWS none of this runs: global tables replicate and report `ReplicationLatency`.

`GET /status` reports what was applied and the lag; `POST /pause?region=R` and `/resume?region=R`
stop and restart the flow *out of* region R, which is how a drill models losing that region.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
from botocore.exceptions import ClientError

from chalicelib.logs import configure_logging
from chalicelib.settings import Settings
from devstack import jsonhttp

log = logging.getLogger("ame.replicator")
IDLE_SECONDS = 0.1
SHARD_REFRESH_SECONDS = 2.0


@dataclass(frozen=True)
class ReplicatedTable:
    name: str
    version_attribute: str | None
    """Last writer wins on this attribute; None for items written once (idempotency claims)."""


def tables_of(settings: Settings) -> list[ReplicatedTable]:
    return [
        ReplicatedTable(settings.orders_table, "updated_at"),
        ReplicatedTable(settings.credit_table, "last_updated"),
        ReplicatedTable(settings.idempotency_table, None),
    ]


@dataclass
class Direction:
    """Replication from one region to the other: counters the drill reads."""

    source: str
    target: str
    applied: int = 0
    skipped: int = 0
    last_lag_ms: float | None = None
    max_lag_ms: float = 0.0
    last_applied_at: str | None = None
    paused: bool = False
    backlog: int = 0
    overdue_ms: float = 0.0
    """How far the oldest pending change is past its due time: 0 when replication keeps up."""
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "lock"}


def _condition_for_write(table: ReplicatedTable, image: dict[str, Any], key_names: list[str]) -> dict[str, Any]:
    version = table.version_attribute
    if version and version in image:
        return {
            "ConditionExpression": "attribute_not_exists(#v) OR #v < :v",
            "ExpressionAttributeNames": {"#v": version},
            "ExpressionAttributeValues": {":v": image[version]},
        }
    return {"ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": key_names[0]}}


def _condition_for_delete(table: ReplicatedTable, old: dict[str, Any], key_names: list[str]) -> dict[str, Any]:
    version = table.version_attribute
    if version and version in old:
        return {
            "ConditionExpression": "attribute_exists(#k) AND #v <= :v",
            "ExpressionAttributeNames": {"#k": key_names[0], "#v": version},
            "ExpressionAttributeValues": {":v": old[version]},
        }
    return {"ConditionExpression": "attribute_exists(#k)", "ExpressionAttributeNames": {"#k": key_names[0]}}


def apply_record(target: Any, table: ReplicatedTable, key_names: list[str], record: dict[str, Any]) -> bool:
    """Writes one stream record to the target region; False when the target already has it or newer."""
    change = record["dynamodb"]
    try:
        if record["eventName"] == "REMOVE":
            condition = _condition_for_delete(table, change.get("OldImage", {}), key_names)
            target.delete_item(TableName=table.name, Key=change["Keys"], **condition)
        else:
            image = change["NewImage"]
            target.put_item(TableName=table.name, Item=image, **_condition_for_write(table, image, key_names))
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


class StreamTail:
    """Follows every shard of one table's stream in one region, from the oldest record."""

    def __init__(self, streams: Any, stream_arn: str) -> None:
        self._streams = streams
        self._arn = stream_arn
        self._iterators: dict[str, str | None] = {}
        self._shards_read_at = float("-inf")

    def read(self) -> list[dict[str, Any]]:
        if time.monotonic() - self._shards_read_at >= SHARD_REFRESH_SECONDS:
            self._discover_shards()
        records: list[dict[str, Any]] = []
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            response = self._streams.get_records(ShardIterator=iterator, Limit=1000)
            records.extend(response["Records"])
            self._iterators[shard_id] = response.get("NextShardIterator")
        return records

    def _discover_shards(self) -> None:
        self._shards_read_at = time.monotonic()
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]


class Replicator:
    def __init__(
        self, endpoint: str | None, regions: tuple[str, str], tables: list[ReplicatedTable], delay_ms: float = 0.0
    ) -> None:
        self.endpoint = endpoint
        self.delay = timedelta(milliseconds=delay_ms)
        self.regions = regions
        self.tables = tables
        self.directions = {
            regions[0]: Direction(regions[0], regions[1]),
            regions[1]: Direction(regions[1], regions[0]),
        }
        self.stop = threading.Event()

    def _client(self, service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint)

    def run_direction(self, source: str) -> None:
        direction = self.directions[source]
        dynamodb, target = self._client("dynamodb", source), self._client("dynamodb", direction.target)
        streams = self._client("dynamodbstreams", source)
        tails = {}
        keys = {}
        for table in self.tables:
            description = dynamodb.describe_table(TableName=table.name)["Table"]
            tails[table.name] = StreamTail(streams, description["LatestStreamArn"])
            keys[table.name] = [k["AttributeName"] for k in description["KeySchema"]]
        pending: deque[tuple[ReplicatedTable, dict[str, Any]]] = deque()
        while not self.stop.is_set():
            try:
                for table in self.tables:
                    pending.extend((table, record) for record in tails[table.name].read())
                with direction.lock:
                    direction.backlog = len(pending)
                    overdue = self._past_due(pending[0][1]).total_seconds() * 1000 if pending else 0.0
                    direction.overdue_ms = max(0.0, overdue)
                    paused = direction.paused
                if paused or not pending:
                    self.stop.wait(IDLE_SECONDS)
                    continue
                # In stream order; a record leaves `pending` only once written, so a failure retries it.
                while pending and not direction.paused and self._past_due(pending[0][1]) >= timedelta(0):
                    table, record = pending[0]
                    self._count(direction, record, apply_record(target, table, keys[table.name], record))
                    pending.popleft()
            except Exception:
                log.exception("replication %s -> %s failed; retrying", source, direction.target)
                with direction.lock:
                    direction.errors += 1
                self.stop.wait(1.0)

    def _past_due(self, record: dict[str, Any]) -> timedelta:
        """How long ago the change became due (negative while the modelled lag still holds it)."""
        created: datetime = record["dynamodb"]["ApproximateCreationDateTime"]
        return datetime.now(UTC) - created - self.delay

    @staticmethod
    def _count(direction: Direction, record: dict[str, Any], applied: bool) -> None:
        created: datetime = record["dynamodb"]["ApproximateCreationDateTime"]
        now = datetime.now(UTC)
        with direction.lock:
            if not applied:
                direction.skipped += 1
                return
            direction.applied += 1
            direction.last_lag_ms = max(0.0, (now - created).total_seconds() * 1000)
            direction.max_lag_ms = max(direction.max_lag_ms, direction.last_lag_ms)
            direction.last_applied_at = now.isoformat()

    def status(self) -> dict[str, Any]:
        return {"directions": [d.snapshot() for d in self.directions.values()]}

    def set_paused(self, source: str, paused: bool) -> None:
        direction = self.directions[source]
        with direction.lock:
            direction.paused = paused
        log.warning("replication out of %s %s", source, "paused" if paused else "resumed")


def control_server(replicator: Replicator, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            jsonhttp.send(self, 200, replicator.status())

        def do_POST(self) -> None:
            url = urlparse(self.path)
            region = parse_qs(url.query).get("region", [""])[0]
            if url.path not in ("/pause", "/resume") or region not in replicator.directions:
                jsonhttp.send(self, 404, {"error": "POST /pause?region=R or /resume?region=R"})
                return
            replicator.set_paused(region, url.path == "/pause")
            jsonhttp.send(self, 200, replicator.status())

        def log_message(self, format: str, *args: Any) -> None:
            return

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--regions", nargs=2, default=["us-east-1", "us-west-2"])
    parser.add_argument("--port", type=int, required=True, help="status and control endpoint")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="hold each change this long (models lag)")
    args = parser.parse_args()
    configure_logging(os.environ.get("AME_LOG_LEVEL", "INFO"))
    settings = Settings.from_env(os.environ)
    regions = (args.regions[0], args.regions[1])
    replicator = Replicator(settings.aws_endpoint_url, regions, tables_of(settings), args.delay_ms)
    server = control_server(replicator, args.port)
    signal.signal(signal.SIGTERM, lambda *_: replicator.stop.set())
    signal.signal(signal.SIGINT, lambda *_: replicator.stop.set())
    threads = [threading.Thread(target=replicator.run_direction, args=(r,), daemon=True) for r in args.regions]
    for thread in threads:
        thread.start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    replicator.stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
