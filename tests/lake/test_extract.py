"""The extraction port's adapters: AWS exports (botocore Stubber) and the local scan (moto, in process)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from lake.exports import FULL, INCREMENTAL, current_exports
from lake.extract import AwsExportExtractor, ExportFailed, LocalScanExtractor
from lake.transform import CREDIT_TABLE, ORDERS_TABLE
from tests.lake.conftest import small_traffic, transform

NOW = datetime(2026, 11, 6, 3, tzinfo=UTC)
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/ame-credit"
EXPORT_ARN = f"{TABLE_ARN}/export/01762398000000-a1b2c3d4"


def _client() -> Any:
    return boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def _description(status: str, **extra: Any) -> dict[str, Any]:
    return {"ExportDescription": {"ExportArn": EXPORT_ARN, "ExportStatus": status, **extra}}


def _extractor(client: Any, slept: list[float]) -> AwsExportExtractor:
    return AwsExportExtractor(
        client, "ame-lake-123", kms_key_id="alias/ame-lake", poll_seconds=5, clock=lambda: NOW, sleep=slept.append
    )


def test_a_full_export_is_requested_at_a_point_in_time_and_waited_for() -> None:
    client = _client()
    slept: list[float] = []
    with Stubber(client) as stub:
        stub.add_response("describe_table", {"Table": {"TableArn": TABLE_ARN}}, {"TableName": "ame-credit"})
        stub.add_response(
            "export_table_to_point_in_time",
            _description("IN_PROGRESS"),
            {
                "TableArn": TABLE_ARN,
                "S3Bucket": "ame-lake-123",
                "S3Prefix": "raw/ame-credit",
                "ExportFormat": "DYNAMODB_JSON",
                "ExportType": FULL,
                "ExportTime": NOW,
                "ClientToken": ANY,
                "S3SseAlgorithm": "KMS",
                "S3SseKmsKeyId": "alias/ame-lake",
            },
        )
        stub.add_response("describe_export", _description("IN_PROGRESS"), {"ExportArn": EXPORT_ARN})
        stub.add_response(
            "describe_export",
            _description("COMPLETED", ExportType=FULL, ItemCount=42, ExportTime=NOW),
            {"ExportArn": EXPORT_ARN},
        )
        ref = _extractor(client, slept).export("ame-credit")
        stub.assert_no_pending_responses()
    assert (ref.export_id, ref.export_type, ref.item_count) == ("01762398000000-a1b2c3d4", FULL, 42)
    assert (ref.bucket, str(ref.path)) == ("ame-lake-123", "raw/ame-credit/AWSDynamoDB/01762398000000-a1b2c3d4")
    assert slept == [5, 5]


def test_the_daily_delta_is_an_incremental_export_from_the_last_one() -> None:
    client = _client()
    since = datetime(2026, 11, 5, 3, tzinfo=UTC)
    with Stubber(client) as stub:
        stub.add_response("describe_table", {"Table": {"TableArn": TABLE_ARN}}, {"TableName": "ame-credit"})
        stub.add_response(
            "export_table_to_point_in_time",
            _description("COMPLETED", ExportType=INCREMENTAL),
            {
                "TableArn": TABLE_ARN,
                "S3Bucket": "ame-lake-123",
                "S3Prefix": "raw/ame-credit",
                "ExportFormat": "DYNAMODB_JSON",
                "ExportType": INCREMENTAL,
                "IncrementalExportSpecification": {
                    "ExportFromTime": since,
                    "ExportToTime": NOW,
                    "ExportViewType": "NEW_IMAGE",
                },
                "ClientToken": ANY,
                "S3SseAlgorithm": "KMS",
                "S3SseKmsKeyId": "alias/ame-lake",
            },
        )
        ref = _extractor(client, []).export("ame-credit", since=since)
    assert ref.export_type == INCREMENTAL


def test_a_failed_export_fails_the_run_with_its_code() -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("describe_table", {"Table": {"TableArn": TABLE_ARN}}, {"TableName": "ame-credit"})
        stub.add_response("export_table_to_point_in_time", _description("IN_PROGRESS"), None)
        stub.add_response(
            "describe_export", _description("FAILED", FailureCode="PITR_DISABLED"), {"ExportArn": EXPORT_ARN}
        )
        with pytest.raises(ExportFailed, match="PITR_DISABLED"):
            _extractor(client, []).export("ame-credit")


@mock_aws
def test_the_local_scan_writes_the_export_format_the_transform_reads(tmp_path: Path) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName=ORDERS_TABLE,
        KeySchema=[{"AttributeName": "order_key", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_key", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.create_table(
        TableName=CREDIT_TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    from lake.traffic import put_all

    traffic = small_traffic(days=2, orders_per_day=20, decisions_per_day=30)
    assert put_all(client, ORDERS_TABLE, traffic.orders()) == 40
    assert put_all(client, CREDIT_TABLE, traffic.decisions()) == 60

    root = tmp_path / "lake"
    extractor = LocalScanExtractor(client, root / "raw", clock=lambda: NOW)
    orders, credit = extractor.export(ORDERS_TABLE), extractor.export(CREDIT_TABLE)
    assert (orders.item_count, credit.item_count) == (40, 60)
    assert (orders.path / "manifest-summary.json").exists() and (orders.path / "manifest-files.json").exists()
    assert current_exports(root / "raw" / ORDERS_TABLE, ORDERS_TABLE) == [orders]

    result = transform(root).run([orders], [credit])
    assert (result.rows["fact_envelope_order"], result.rows["fact_credit_decision"]) == (40, 60)
