"""The backup drill: restore the orders table to a point in time as a new table, verify, delete it.

Items not modified since the restore point must come back identical; the checksum covers
exactly those. (The local endpoint restores the latest state whatever the time asked, so the
local drill takes its point once writes have stopped; AWS honours the time.)
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from drill.model import RestoreResult
from drill.targets import Regions, checksum

VERSION_ATTRIBUTE = "updated_at"


def _key(item: dict[str, Any], key_names: list[str]) -> tuple[str, ...]:
    return tuple(next(iter(item[name].values())) for name in key_names)


def run_restore(data: Regions, region: str, table: str, point_in_time: datetime | None = None) -> RestoreResult:
    dynamodb = data.dynamodb(region)
    key_names = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
    point = point_in_time or datetime.now(UTC)
    stamp = point.strftime("%Y%m%dT%H%M%S")
    source = [i for i in data.scan(region, table) if i.get(VERSION_ATTRIBUTE, {}).get("S", "") <= _iso(point)]
    restored_name = f"{table}-drill-{stamp}"
    started = time.monotonic()
    dynamodb.restore_table_to_point_in_time(SourceTableName=table, TargetTableName=restored_name, RestoreDateTime=point)
    try:
        dynamodb.get_waiter("table_exists").wait(
            TableName=restored_name, WaiterConfig={"Delay": 1, "MaxAttempts": 3600}
        )
        restore_seconds = time.monotonic() - started
        restored_by_key = {_key(i, key_names): i for i in data.scan(region, restored_name)}
        counterparts = [restored_by_key.get(_key(i, key_names)) for i in source]
        return RestoreResult(
            table=table,
            restored_table=restored_name,
            point_in_time=point,
            items=len(source),
            restored_items=sum(1 for original, copy in zip(source, counterparts, strict=True) if original == copy),
            checksum=checksum(source),
            restored_checksum=checksum([copy for copy in counterparts if copy is not None]),
            restore_seconds=restore_seconds,
        )
    finally:
        dynamodb.delete_table(TableName=restored_name)


def _iso(point: datetime) -> str:
    """PynamoDB's UTC format (`2026-11-22T23:05:14.123456+0000`), which sorts as text."""
    return point.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
