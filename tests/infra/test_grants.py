"""One source of grants: the local stack's IAM users may do exactly what the deployed roles may."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ame_infra import grants
from ame_infra.mocked import Inventory
from devstack import permissions
from tests.infra.conftest import ROOT, policy_document
from tests.infra.test_stacks import ROLE_POLICY, function


def role_actions(stack: Inventory, handler: str) -> set[str]:
    name = function(stack, handler).inputs["name"]
    (policy,) = [p for p in stack.of_type(ROLE_POLICY) if p.name == name]
    return {action for statement in policy_document(policy) for action in statement["Action"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize("handler", sorted(set(grants.KINDS.values())))
def test_each_local_function_user_holds_its_deployed_roles_actions(stack: Inventory, handler: str) -> None:
    # GIVEN the role Pulumi declares for that function and the policy the local stack gives its user
    deployed = role_actions(stack, handler)
    kind = grants.kind_of(handler, "primary" if stack.stack == "prod" else "dr")
    (statement,) = permissions.local_policy(permissions.deployed_actions(kind))["Statement"]
    # THEN the user holds the role's actions, plus only moto's names for the same operations, on `*`
    moto_only = {name for action in deployed for name in permissions.moto_names(action)}
    assert set(statement["Action"]) - deployed == moto_only
    assert deployed <= set(statement["Action"])
    assert statement["Resource"] == "*" and "Condition" not in statement


def test_every_sender_may_look_its_queues_up_by_name(stack: Inventory) -> None:
    # The app resolves queue URLs with sqs:GetQueueUrl (chalicelib.adapters.sqs.QueueAddress): every
    # function that sends needs it, on the queues it sends to, or every enqueue fails in AWS.
    for handler in (grants.API, grants.WORKER, grants.SWEEPER):
        name = function(stack, handler).inputs["name"]
        (policy,) = [p for p in stack.of_type(ROLE_POLICY) if p.name == name]
        (lookup,) = [s for s in policy_document(policy) if "sqs:SendMessage" in s["Action"]]  # type: ignore[operator]
        assert lookup["Action"] == ["sqs:GetQueueUrl", "sqs:SendMessage"], handler
        assert all(":sqs:" in arn for arn in lookup["Resource"]), handler  # type: ignore[attr-defined]


def test_the_failover_switch_is_read_on_its_alarm_only(stack: Inventory) -> None:
    name = function(stack, grants.API).inputs["name"]
    (policy,) = [p for p in stack.of_type(ROLE_POLICY) if p.name == name]
    (switch,) = [s for s in policy_document(policy) if s["Action"] == ["cloudwatch:DescribeAlarms"]]
    resources: list[str] = switch["Resource"]  # type: ignore[assignment]
    (arn,) = resources
    assert arn.startswith("arn:aws:cloudwatch:") and arn.endswith(":alarm:ame-platform-primary-out-of-service")


def test_only_the_dr_sweeper_may_set_the_switch(prod: Inventory, dr: Inventory) -> None:
    # GIVEN every function role of both stacks
    writers = {
        (inventory.stack, handler)
        for inventory in (prod, dr)
        for handler in set(grants.KINDS.values())
        if role_actions(inventory, handler) & {"cloudwatch:PutMetricData", "cloudwatch:SetAlarmState"}
    }
    # THEN only the standby's sweeper writes the switch (the primary may be the impaired side)
    assert writers == {("dr", grants.SWEEPER)}
    name = function(dr, grants.SWEEPER).inputs["name"]
    (policy,) = [p for p in dr.of_type(ROLE_POLICY) if p.name == name]
    (alarm,) = [s for s in policy_document(policy) if s["Action"] == ["cloudwatch:SetAlarmState"]]
    assert alarm["Resource"] == ["arn:aws:cloudwatch:us-west-2:111111111111:alarm:ame-platform-primary-out-of-service"]
    assert "Condition" not in alarm
    # PutMetricData has no resource type in AWS: `*`, held to the switch's namespace
    (metric,) = [s for s in policy_document(policy) if s["Action"] == ["cloudwatch:PutMetricData"]]
    assert metric["Resource"] == ["*"]
    assert metric["Condition"] == {"StringEquals": {"cloudwatch:namespace": "AME/Failover"}}


def test_the_local_dr_sweeper_is_a_user_of_its_own() -> None:
    assert permissions.sweeper_kind("primary") == "sweeper"
    assert permissions.sweeper_kind("dr") == "standby-sweeper"
    standby, sweeper = permissions.deployed_actions("standby-sweeper"), permissions.deployed_actions("sweeper")
    assert standby - sweeper == {"cloudwatch:PutMetricData", "cloudwatch:SetAlarmState"}
    local = permissions.local_policy(standby)["Statement"][0]["Action"]
    assert {"monitoring:PutMetricData", "monitoring:SetAlarmState"} <= set(local)  # moto's names for them


def test_the_local_copy_drops_what_moto_cannot_evaluate() -> None:
    # moto turns a statement whose Condition it cannot satisfy into an explicit deny: the local copy has none
    policy = permissions.local_policy(permissions.deployed_actions("api"))
    assert "Condition" not in json.dumps(policy)
    assert "dynamodb:TransactWriteItems" in policy["Statement"][0]["Action"]  # the API's draft transaction
    assert "monitoring:DescribeAlarms" in policy["Statement"][0]["Action"]  # the failover switch, as moto names it


def test_the_grants_import_no_pulumi() -> None:
    # devstack builds the local users from this module: importing it must not need the Pulumi SDK
    probe = "import sys; import ame_infra.grants; print(sorted(m for m in sys.modules if m.startswith('pulumi')))"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "infra")}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_claim_checks_are_read_by_the_api_and_written_by_the_worker_in_their_own_regions_bucket(
    stack: Inventory,
) -> None:
    region = "us-east-1" if stack.stack == "prod" else "us-west-2"
    expected = {grants.API: ["s3:GetObject"], grants.WORKER: ["s3:GetObject", "s3:PutObject"], grants.SWEEPER: None}
    for handler, s3_actions in expected.items():
        deployed = function(stack, handler)
        name = deployed.inputs["name"]
        (policy,) = [p for p in stack.of_type(ROLE_POLICY) if p.name == name]
        found = [s for s in policy_document(policy) if any(a.startswith("s3:") for a in s["Action"])]  # type: ignore[attr-defined]
        env = deployed.inputs["environment"]["variables"]
        # this region's bucket, by `buckets.bucket_name` (its twin in the other region is a replica)
        assert env["AME_CLAIM_CHECK_BUCKET"] == f"example-bank-ame-claim-check-{region}", handler
        if s3_actions is None:
            assert not found, handler
            continue
        (objects,) = found
        assert objects["Action"] == s3_actions, handler
        assert objects["Resource"] == [f"arn:aws:s3:::{env['AME_CLAIM_CHECK_BUCKET']}/*"], handler
        (kms,) = [s for s in policy_document(policy) if s.get("Condition") == grants.VIA_S3]
        want = {"s3:GetObject": "kms:Decrypt", "s3:PutObject": "kms:GenerateDataKey"}
        assert kms["Action"] == sorted(want[a] for a in s3_actions), handler
