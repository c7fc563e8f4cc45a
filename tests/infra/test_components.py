"""Components on their own, the way pulumi/examples `testing-unit-py` tests them, plus config and plan."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings

from ame_infra.chalice_package import ChalicePackage, PackageError, load_package
from ame_infra.config import StackConfigError, StackSettings
from ame_infra.contract import QUEUES, TABLES
from ame_infra.failover import Failover, FailoverArgs
from ame_infra.mocked import Inventory, RecordingMocks, run_stack
from ame_infra.plan import render
from ame_infra.queues import MessageQueues, MessageQueuesArgs
from ame_infra.tables import GlobalTables, GlobalTablesArgs

KEY = "arn:aws:kms:us-east-1:111111111111:key/k"
DR_KEY = "arn:aws:kms:us-west-2:111111111111:key/k"


@pytest.fixture
def mocks() -> RecordingMocks:
    recording = RecordingMocks()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(recording, project="ame-platform", stack="unit", preview=False)
    return recording


@pulumi.runtime.test
def test_each_queue_redrives_to_its_own_dlq(mocks: RecordingMocks) -> pulumi.Output[None]:
    queues = MessageQueues("q", MessageQueuesArgs(QUEUES, KEY, max_receive_count=4, consumer_timeout_seconds=30))

    def check(values: list[str]) -> None:
        redrive, dlq_arn, visibility = values
        assert json.loads(redrive) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 4}
        assert dlq_arn.endswith(":ame-envelope-requests-dlq")
        assert int(visibility) == 180

    requests = queues.by_key["requests"]
    return pulumi.Output.all(
        requests.queue.redrive_policy, requests.dlq.arn, requests.queue.visibility_timeout_seconds
    ).apply(check)


@pulumi.runtime.test
def test_global_tables_replicate_every_table_to_the_dr_region(mocks: RecordingMocks) -> pulumi.Output[None]:
    tables = GlobalTables("t", GlobalTablesArgs(TABLES, "us-west-2", KEY, DR_KEY))

    def check(arns: list[str]) -> None:
        assert sorted(a.rsplit("/", 1)[-1] for a in arns) == sorted(t.name for t in TABLES)
        declared = [r for r in mocks.resources if r.type == "aws:dynamodb/table:Table"]
        assert [r.inputs["replicas"][0]["regionName"] for r in declared] == ["us-west-2"] * 3

    return pulumi.Output.all(*tables.arns.values()).apply(check)


@pytest.mark.parametrize(("role", "expected"), [("primary", "PRIMARY"), ("dr", "SECONDARY")])
@pulumi.runtime.test
def test_the_failover_record_follows_the_role(mocks: RecordingMocks, role: str, expected: str) -> pulumi.Output[None]:
    failover = Failover(
        "f",
        FailoverArgs(role, "us-east-1", "Z1", "api.example.com", "a.execute-api.us-east-1.amazonaws.com", "d-1", "Z2"),
    )

    def check(values: list[Any]) -> None:
        policies, record_check_id, health_check_id = values
        assert [p["type"] for p in policies] == [expected]
        assert record_check_id == health_check_id

    record = failover.record
    return pulumi.Output.all(record.failover_routing_policies, record.health_check_id, failover.health_check_id).apply(
        check
    )


def test_swagger_points_every_route_at_the_given_function(package: ChalicePackage) -> None:
    body = package.swagger_for("arn:invoke", {"DEFAULT_4XX": {}})
    uris = {op["x-amazon-apigateway-integration"]["uri"] for ops in body["paths"].values() for op in ops.values()}
    assert uris == {"arn:invoke"}
    assert "Fn::Sub" not in json.dumps(body)
    assert "Fn::Sub" in json.dumps(package.swagger)  # the package itself is left untouched


def test_a_missing_package_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="make package"):
        load_package(tmp_path)


def test_run_stack_refuses_a_role_it_does_not_know(package_dir: Path) -> None:
    with pytest.raises(StackConfigError, match="role"):
        run_stack("dr", package_dir, {"ame-platform:role": "standby"})


VALID = StackSettings(
    stack="prod",
    role="primary",
    region="us-east-1",
    peer_region="us-west-2",
    api_domain="api.example.com",
    hosted_zone_id="Z1",
    certificate_arn="arn:aws:acm:us-east-1:111111111111:certificate/x",
    bucket_prefix="bank-ame",
    partner_urls={"powers": "https://p.example.com"},
    chalice_package_dir=Path("build/chalice"),
)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"peer_region": "us-east-1"}, "must differ"),
        ({"region": "useast1"}, "not an AWS region"),
        ({"certificate_arn": "arn:aws:acm:us-west-2:1:certificate/x"}, "ACM certificate in us-east-1"),
        ({"bucket_prefix": "Bank_AME"}, "bucketPrefix"),
        ({"partner_urls": {"powers": "http://p"}}, "https"),
    ],
)
def test_settings_refuse_contradictions(change: dict[str, object], message: str) -> None:
    VALID.validate()
    with pytest.raises(StackConfigError, match=message):
        replace(VALID, **change).validate()  # type: ignore[arg-type]


def test_the_plan_prints_type_name_region_then_the_total(dr: Inventory) -> None:
    inventory = dr
    lines = render(inventory)
    assert lines[-1] == f"resources: {len(inventory.cloud_resources)}"
    rows = [line.split(" ") for line in lines[:-1]]
    assert len(rows) == len(inventory.cloud_resources) and all(len(row) == 3 for row in rows)
    assert ["aws:route53/record:Record", "ame-failover", "us-west-2"] in rows
    assert not [row for row in rows if row[0].startswith("pulumi:")]
