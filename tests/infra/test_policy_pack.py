"""The policy pack passes both stacks, and each policy does catch what it is there to catch."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import (
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

import ame_policies
from ame_infra.mocked import DeclaredResource, Inventory

Policy = ResourceValidationPolicy | StackValidationPolicy


def violations(policy: Policy, resources: list[DeclaredResource]) -> list[str]:
    """Calls the policy as the engine would, once per resource or once per stack."""
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    if isinstance(policy, StackValidationPolicy):
        stack = [PolicyResource(r.type, r.inputs, f"urn:{r.name}", r.name, None, None, None, [], {}) for r in resources]  # type: ignore[arg-type]
        policy.validate(StackValidationArgs(stack), report)
    else:
        for r in resources:
            policy.validate(ResourceValidationArgs(r.type, r.inputs, f"urn:{r.name}", r.name, None, None), report)  # type: ignore[arg-type]
    return found


POLICIES = {policy.name: policy for policy in ame_policies.all_policies()}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_both_stacks_satisfy_every_policy(name: str, stack: Inventory) -> None:
    assert violations(POLICIES[name], stack.cloud_resources) == []


def first(stack: Inventory, token: str) -> DeclaredResource:
    return stack.of_type(token)[0]


def replaced(resource: DeclaredResource, change: Callable[[dict[str, Any]], None]) -> DeclaredResource:
    inputs = copy.deepcopy(resource.inputs)
    change(inputs)
    return DeclaredResource(resource.type, resource.name, resource.region, inputs, True, resource.provider_name)


def wildcard(inputs: dict[str, Any]) -> None:
    document = json.loads(inputs["policy"])
    document["Statement"][0]["Action"] = ["dynamodb:*"]
    inputs["policy"] = json.dumps(document)


def every_resource(inputs: dict[str, Any]) -> None:
    document = json.loads(inputs["policy"])
    document["Statement"][0]["Resource"] = "*"
    inputs["policy"] = json.dumps(document)


TABLE = "aws:dynamodb/table:Table"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
BREAKAGES: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    ("dynamodb-table-protected", TABLE, lambda i: i.pop("serverSideEncryption"), "customer-managed"),
    ("dynamodb-table-protected", TABLE, lambda i: i.update(replicas=[]), "no replica"),
    ("dynamodb-table-protected", TABLE, lambda i: i.update(deletionProtectionEnabled=False), "deletion"),
    (
        "s3-encrypted-with-cmk",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        lambda i: i["rules"][0]["applyServerSideEncryptionByDefault"].update(sseAlgorithm="AES256"),
        "aws:kms",
    ),
    (
        "s3-public-access-blocked",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        lambda i: i.update(blockPublicPolicy=False),
        "blockPublicPolicy",
    ),
    (
        "s3-versioned",
        "aws:s3/bucketVersioning:BucketVersioning",
        lambda i: i.update(versioningConfiguration={"status": "Suspended"}),
        "Enabled",
    ),
    (
        "s3-lifecycle-tiers",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        lambda i: i["rules"][0]["transitions"].pop(),
        "Glacier",
    ),
    (
        "s3-replication-rtc",
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        lambda i: i["rules"][0]["destination"].pop("replicationTime"),
        "Replication Time Control",
    ),
    ("sqs-dead-letter-queue", "aws:sqs/queue:Queue", lambda i: i.update(name="ame-x", redrivePolicy=None), "redrive"),
    ("sqs-dead-letter-queue", "aws:sqs/queue:Queue", lambda i: i.pop("kmsMasterKeyId"), "encrypted"),
    ("iam-no-wildcards", "aws:iam/rolePolicy:RolePolicy", wildcard, "wildcard action"),
    ("iam-no-wildcards", "aws:iam/rolePolicy:RolePolicy", every_resource, "every resource"),
    (
        "lambda-sqs-partial-batch",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        lambda i: i.pop("functionResponseTypes"),
        "batch item failures",
    ),
    ("logs-retained-and-encrypted", LOG_GROUP, lambda i: i.pop("retentionInDays"), "retention"),
    (
        "api-access-logs-without-pii",
        "aws:apigateway/stage:Stage",
        lambda i: i["accessLogSettings"].update(format='{"path": "$context.path"}'),
        "$context.path",
    ),
    (
        "api-no-data-trace",
        "aws:apigateway/methodSettings:MethodSettings",
        lambda i: i["settings"].update(dataTraceEnabled=True),
        "request bodies",
    ),
    ("kms-rotation", "aws:kms/key:Key", lambda i: i.update(enableKeyRotation=False), "rotate"),
    ("waf-rules", "aws:wafv2/webAcl:WebAcl", lambda i: i.update(rules=i["rules"][1:]), "rate-based"),
]


@pytest.mark.parametrize(
    ("policy", "token", "change", "expected"), BREAKAGES, ids=[f"{b[0]}-{b[3]}" for b in BREAKAGES]
)
def test_each_resource_policy_reports_the_breakage_it_exists_for(
    policy: str, token: str, change: Callable[[dict[str, Any]], None], expected: str, prod: Inventory
) -> None:
    # GIVEN a resource the prod stack declares, broken in one way
    broken = replaced(first(prod, token), change)
    # WHEN the policy validates it THEN it names the problem
    found = violations(POLICIES[policy], [broken])
    assert found and any(expected in message for message in found), found


def test_a_dlq_without_an_alarm_is_reported(dr: Inventory) -> None:
    def dlq_alarm(r: DeclaredResource) -> bool:
        return r.type.endswith("MetricAlarm") and r.inputs["metricName"] == "ApproximateNumberOfMessagesVisible"

    resources = [r for r in dr.cloud_resources if not dlq_alarm(r)]
    found = violations(POLICIES["queues-alarmed"], resources)
    assert len(found) == 3 and all("-dlq" in message and "has no" in message for message in found)


def test_a_secondary_stack_declaring_a_table_is_reported(prod: Inventory, dr: Inventory) -> None:
    table = prod.of_type("aws:dynamodb/table:Table")[0]
    found = violations(POLICIES["dr-owns-no-data"], [*dr.cloud_resources, table])
    assert found == [f"the SECONDARY (DR) stack must not own data, but declares aws:dynamodb/table:Table {table.name}"]
    assert violations(POLICIES["dr-owns-no-data"], prod.cloud_resources) == []  # PRIMARY owns the data


def test_a_bucket_missing_its_encryption_resource_is_reported(prod: Inventory) -> None:
    audit = "example-bank-ame-audit-us-west-2"
    resources = [r for r in prod.cloud_resources if r.name != audit or not r.type.endswith("EncryptionConfiguration")]
    found = violations(POLICIES["buckets-fully-configured"], resources)
    assert "10 buckets but 9 BucketServerSideEncryptionConfiguration resources" in found


def test_a_stage_without_a_web_acl_is_reported(dr: Inventory) -> None:
    resources = [r for r in dr.cloud_resources if not r.type.endswith("WebAclAssociation")]
    assert violations(POLICIES["stages-behind-waf"], resources) == ["1 API stages but only 0 web ACL associations"]


def test_importing_the_policies_starts_no_policy_server() -> None:
    policies = Path(ame_policies.__file__ or "")
    assert "PolicyPack(" not in policies.read_text()
    assert "PolicyPack(" in (policies.parent / "__main__.py").read_text()
