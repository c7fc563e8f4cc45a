"""Extraction, the lake's only contact with DynamoDB: a port and its two adapters.

- `LocalScanExtractor`: the local stack (moto) — scans the table with the endpoint's administrator and
  writes the export format (lake/exports.py) into `raw/<table>/`. Scanning is fine there; it is not in AWS.
- `AwsExportExtractor`: AWS — ExportTableToPointInTime into the lake bucket (FULL_EXPORT, or
  INCREMENTAL_EXPORT for the daily delta), reading no table capacity; waits for the export to complete.

Everything after extraction reads only the files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from lake.exports import FULL, INCREMENTAL, ExportRef, write_export


class ExportFailed(RuntimeError):
    pass


class Extractor(Protocol):
    def export(self, table: str, since: datetime | None = None) -> ExportRef:
        """A full export of `table`, or (with `since`) the changes from then to now."""
        ...


@dataclass
class LocalScanExtractor:
    """`client`: a boto3 DynamoDB client on the local endpoint (administrator credentials)."""

    client: Any
    raw: Path
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def export(self, table: str, since: datetime | None = None) -> ExportRef:
        # A local scan is always a full export: the items carry no write time to select a delta by.
        return write_export(self.raw / table, table, self._scan(table), at=self.clock(), export_type=FULL)

    def _scan(self, table: str) -> Iterator[dict[str, Any]]:
        for page in self.client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            yield from page["Items"]


@dataclass
class AwsExportExtractor:
    """`client`: a boto3 DynamoDB client; the table needs point-in-time recovery (the data stack turns it on)."""

    client: Any
    bucket: str
    prefix: str = "raw"
    """Exports of table T go under s3://bucket/<prefix>/<T>/AWSDynamoDB/<export-id>/."""
    kms_key_id: str | None = None
    poll_seconds: float = 15.0
    timeout_seconds: float = 3600.0
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], None] = time.sleep

    def export(self, table: str, since: datetime | None = None) -> ExportRef:
        arn = self.client.describe_table(TableName=table)["Table"]["TableArn"]
        now = self.clock()
        request: dict[str, Any] = {
            "TableArn": arn,
            "S3Bucket": self.bucket,
            "S3Prefix": f"{self.prefix}/{table}",
            "ExportFormat": "DYNAMODB_JSON",
            # Idempotent for 8 hours: a retried run of the same window starts no second export.
            "ClientToken": f"lake-{table}-{int((since or now).timestamp())}-{int(now.timestamp()) // 3600}",
        }
        if self.kms_key_id:
            request |= {"S3SseAlgorithm": "KMS", "S3SseKmsKeyId": self.kms_key_id}
        if since is None:
            request |= {"ExportType": FULL, "ExportTime": now}
        else:
            request |= {
                "ExportType": INCREMENTAL,
                "IncrementalExportSpecification": {
                    "ExportFromTime": since,
                    "ExportToTime": now,
                    "ExportViewType": "NEW_IMAGE",
                },
            }
        description = self.client.export_table_to_point_in_time(**request)["ExportDescription"]
        description = self._wait(description)
        export_id = description["ExportArn"].rsplit("/", 1)[-1]
        return ExportRef(
            table,
            export_id,
            Path(f"{self.prefix}/{table}/AWSDynamoDB/{export_id}"),
            description.get("ExportType", request["ExportType"]),
            description.get("ExportTime", now),
            description.get("ItemCount"),
            bucket=self.bucket,
        )

    def _wait(self, description: dict[str, Any]) -> dict[str, Any]:
        waited = 0.0
        while description["ExportStatus"] == "IN_PROGRESS":
            if waited >= self.timeout_seconds:
                raise ExportFailed(f"export {description['ExportArn']} still in progress after {waited:.0f} s")
            self.sleep(self.poll_seconds)
            waited += self.poll_seconds
            description = self.client.describe_export(ExportArn=description["ExportArn"])["ExportDescription"]
        if description["ExportStatus"] != "COMPLETED":
            code = description.get("FailureCode", "UNKNOWN")
            raise ExportFailed(f"export {description['ExportArn']} {description['ExportStatus']}: {code}")
        return description
