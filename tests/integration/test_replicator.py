"""The global-tables stand-in's write rule against the local endpoint: last writer wins, no echo."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from chalicelib.settings import Settings
from devstack.replicator import ReplicatedTable, StreamTail, apply_record

pytestmark = pytest.mark.integration


@pytest.fixture
def regions(settings: Settings) -> dict[str, Any]:
    """The same table in two regions of the local endpoint, streams on."""
    clients = {
        r: boto3.client("dynamodb", region_name=r, endpoint_url=settings.aws_endpoint_url)
        for r in ("us-east-1", "us-west-2")
    }
    for client in clients.values():
        client.create_table(
            TableName=settings.orders_table,
            KeySchema=[{"AttributeName": "order_key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
    return clients


def item(key: str, updated_at: str, status: str) -> dict[str, Any]:
    return {"order_key": {"S": key}, "updated_at": {"S": updated_at}, "status": {"S": status}}


def records_of(client: Any, table: str, region: str, endpoint: str | None) -> list[dict[str, Any]]:
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    return StreamTail(boto3.client("dynamodbstreams", region_name=region, endpoint_url=endpoint), arn).read()


def test_changes_replicate_and_their_echo_is_refused(regions: dict[str, Any], settings: Settings) -> None:
    east, west, table = regions["us-east-1"], regions["us-west-2"], ReplicatedTable(settings.orders_table, "updated_at")
    # GIVEN an order written and then decided in us-east-1
    east.put_item(TableName=table.name, Item=item("o1", "2026-11-22T12:00:00.000000+0000", "PROCESSING"))
    east.put_item(TableName=table.name, Item=item("o1", "2026-11-22T12:00:01.000000+0000", "QUORUM_MET"))
    # WHEN its stream is applied to us-west-2
    east_records = records_of(east, table.name, "us-east-1", settings.aws_endpoint_url)
    assert [apply_record(west, table, ["order_key"], r) for r in east_records] == [True, True]
    # THEN us-west-2 holds the decided order, and sending us-west-2's own stream back changes nothing
    stored = west.get_item(TableName=table.name, Key={"order_key": {"S": "o1"}})["Item"]
    assert stored["status"] == {"S": "QUORUM_MET"}
    west_records = records_of(west, table.name, "us-west-2", settings.aws_endpoint_url)
    assert [apply_record(east, table, ["order_key"], r) for r in west_records] == [False, False]


def test_an_older_write_never_overwrites_a_newer_one(regions: dict[str, Any], settings: Settings) -> None:
    east, west, table = regions["us-east-1"], regions["us-west-2"], ReplicatedTable(settings.orders_table, "updated_at")
    # GIVEN us-west-2 decided the order at 12:00:05 while us-east-1's 12:00:01 version was still in flight
    west.put_item(TableName=table.name, Item=item("o2", "2026-11-22T12:00:05.000000+0000", "NO_QUORUM"))
    east.put_item(TableName=table.name, Item=item("o2", "2026-11-22T12:00:01.000000+0000", "PROCESSING"))
    # WHEN the older version arrives THEN it is refused: last writer wins
    (record,) = records_of(east, table.name, "us-east-1", settings.aws_endpoint_url)
    assert apply_record(west, table, ["order_key"], record) is False
    stored = west.get_item(TableName=table.name, Key={"order_key": {"S": "o2"}})["Item"]
    assert stored["status"] == {"S": "NO_QUORUM"}


def test_deletes_replicate_once(regions: dict[str, Any], settings: Settings) -> None:
    east, west, table = regions["us-east-1"], regions["us-west-2"], ReplicatedTable(settings.orders_table, None)
    east.put_item(TableName=table.name, Item=item("o3", "t", "PROCESSING"))
    east.delete_item(TableName=table.name, Key={"order_key": {"S": "o3"}})
    records = records_of(east, table.name, "us-east-1", settings.aws_endpoint_url)
    assert [apply_record(west, table, ["order_key"], r) for r in records] == [True, True]
    assert "Item" not in west.get_item(TableName=table.name, Key={"order_key": {"S": "o3"}})
    assert apply_record(west, table, ["order_key"], records[-1]) is False  # the echo of the delete
