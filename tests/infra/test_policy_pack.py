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
from ame_infra import contract
from ame_infra.grants import TRACING_ACTIONS
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
POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
REST_API = "aws:apigateway/restApi:RestApi"
PARAMETER = "aws:ssm/parameter:Parameter"
WORKGROUP = "aws:athena/workgroup:Workgroup"


def edit_responses(inputs: dict[str, Any], drop: str | None = None, template: str | None = None) -> None:
    body = json.loads(inputs["body"])
    responses = body["x-amazon-apigateway-gateway-responses"]
    if drop:
        responses.pop(drop)
    if template:
        responses["DEFAULT_4XX"]["responseTemplates"]["application/json"] = template
    inputs["body"] = json.dumps(body)


BREAKAGES: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    ("dynamodb-table-protected", TABLE, lambda i: i.pop("serverSideEncryption"), "customer-managed"),
    (
        "dynamodb-table-protected",
        TABLE,
        lambda i: i.update(replicas=[{"regionName": "us-west-2", "kmsKeyArn": "k", "pointInTimeRecovery": True}]),
        "DR region's stack owns it",
    ),
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
    ("iam-managed-no-wildcards", "aws:iam/policy:Policy", wildcard, "wildcard action"),
    ("iam-managed-no-wildcards", "aws:iam/policy:Policy", every_resource, "every resource"),
    (
        "athena-results-encrypted",
        WORKGROUP,
        lambda i: i["configuration"]["resultConfiguration"]["encryptionConfiguration"].update(
            encryptionOption="SSE_S3"
        ),
        "customer-managed KMS key",
    ),
    (
        "athena-results-encrypted",
        WORKGROUP,
        lambda i: i["configuration"].update(enforceWorkgroupConfiguration=False),
        "enforce",
    ),
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
    ("cognito-pool-closed", POOL, lambda i: i.update(adminCreateUserConfig={}), "self sign-up"),
    ("cognito-pool-closed", POOL, lambda i: i.update(deletionProtection="INACTIVE"), "deletion protection"),
    ("cognito-machine-clients", CLIENT, lambda i: i["allowedOauthFlows"].append("code"), "client_credentials"),
    ("cognito-machine-clients", CLIENT, lambda i: i.update(allowedOauthFlows=["implicit"]), "client_credentials"),
    ("cognito-machine-clients", CLIENT, lambda i: i.update(generateSecret=False), "needs a secret"),
    ("cognito-machine-clients", CLIENT, lambda i: i.update(callbackUrls=["https://x"]), "redirects nowhere"),
    ("cognito-machine-clients", CLIENT, lambda i: i.pop("explicitAuthFlows"), "sign-in flow"),
    (
        "cognito-machine-clients",
        CLIENT,
        lambda i: i["explicitAuthFlows"].append("ALLOW_USER_PASSWORD_AUTH"),
        "sign-in flow",
    ),
    ("cognito-machine-clients", CLIENT, lambda i: i.update(allowedOauthScopes=["openid"]), "resource server"),
    ("cognito-machine-clients", CLIENT, lambda i: i.update(accessTokenValidity=24), "60 minutes"),
    (
        "s3-object-lock-compliance",
        LOCK,
        lambda i: i["rule"]["defaultRetention"].update(mode="GOVERNANCE"),
        "COMPLIANCE",
    ),
    ("s3-object-lock-compliance", LOCK, lambda i: i["rule"]["defaultRetention"].pop("days"), "retention"),
    (
        "firehose-audit-delivery",
        STREAM,
        lambda i: i["extendedS3Configuration"].update(bucketArn="arn:aws:s3:::example-bank-ame-lake-raw-us-east-1"),
        "not an audit bucket",
    ),
    ("firehose-audit-delivery", STREAM, lambda i: i["extendedS3Configuration"].pop("kmsKeyArn"), "SSE-KMS"),
    ("firehose-audit-delivery", STREAM, lambda i: i["extendedS3Configuration"].update(prefix="logs/"), "audit/"),
    ("firehose-audit-delivery", STREAM, lambda i: i["serverSideEncryption"].update(enabled=False), "buffered"),
    ("api-gateway-responses", REST_API, lambda i: edit_responses(i, drop="UNAUTHORIZED"), "UNAUTHORIZED"),
    (
        "api-gateway-responses",
        REST_API,
        lambda i: edit_responses(i, template='{"message": $context.error.messageString}'),
        "fixed JSON",
    ),
    (
        "api-gateway-responses",
        REST_API,
        lambda i: edit_responses(i, template='{"error": {"code": "X", "message": "$context.error.messageString"}}'),
        "internals",
    ),
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


@pytest.mark.parametrize(
    ("change", "allowed"),
    [
        (lambda s: None, True),  # as declared: `*`, held to the switch's namespace
        (lambda s: s.pop("Condition"), False),
        (lambda s: s.update(Action=["cloudwatch:PutMetricData", "cloudwatch:SetAlarmState"]), False),
    ],
)
def test_only_a_narrowed_put_metric_data_may_name_every_resource(
    change: Callable[[dict[str, Any]], None], allowed: bool, dr: Inventory
) -> None:
    # GIVEN the dr sweeper's role, which writes the switch's metric (PutMetricData has no resource type)
    (policy,) = [p for p in dr.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "ame-platform-sweep-stuck-orders"]

    def edit(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs["policy"])
        (metric,) = [s for s in document["Statement"] if s["Action"] == ["cloudwatch:PutMetricData"]]
        change(metric)
        inputs["policy"] = json.dumps(document)

    found = violations(POLICIES["iam-no-wildcards"], [replaced(policy, edit)])
    assert (found == []) is allowed, found


def test_a_dlq_without_an_alarm_is_reported(dr: Inventory) -> None:
    def dlq_alarm(r: DeclaredResource) -> bool:
        return r.type.endswith("MetricAlarm") and r.inputs["metricName"] == "ApproximateNumberOfMessagesVisible"

    resources = [r for r in dr.cloud_resources if not dlq_alarm(r)]
    found = violations(POLICIES["queues-alarmed"], resources)
    assert len(found) == 3 and all("-dlq" in message and "has no" in message for message in found)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda i: i.pop("kmsKeyArn"), "customer-managed key"),
        (lambda i: i.update(pointInTimeRecovery=False), "point-in-time"),
        (lambda i: i.update(deletionProtectionEnabled=False), "deletion protection"),
    ],
)
def test_a_dr_replica_without_its_key_pitr_or_protection_is_reported(
    change: Callable[[dict[str, Any]], None], expected: str, dr: Inventory
) -> None:
    replica = first(dr, "aws:dynamodb/tableReplica:TableReplica")
    assert violations(POLICIES["dynamodb-replica-protected"], [replica]) == []
    found = violations(POLICIES["dynamodb-replica-protected"], [replaced(replica, change)])
    assert found and expected in found[0], found


@pytest.mark.parametrize(
    "token", ["aws:dynamodb/table:Table", "aws:s3/bucketReplicationConfig:BucketReplicationConfig"]
)
def test_a_secondary_stack_declaring_primary_data_is_reported(token: str, prod: Inventory, dr: Inventory) -> None:
    primary_data = prod.of_type(token)[0]
    found = violations(POLICIES["dr-owns-only-copies"], [*dr.cloud_resources, primary_data])
    assert found == [f"the SECONDARY (DR) stack holds copies only, but declares {token} {primary_data.name}"]
    assert violations(POLICIES["dr-owns-only-copies"], prod.cloud_resources) == []  # PRIMARY owns the data


def test_a_bucket_missing_its_encryption_resource_is_reported(prod: Inventory) -> None:
    audit = "example-bank-ame-audit-us-east-1"
    resources = [r for r in prod.cloud_resources if r.name != audit or not r.type.endswith("EncryptionConfiguration")]
    found = violations(POLICIES["buckets-fully-configured"], resources)
    assert "5 buckets but 4 BucketServerSideEncryptionConfiguration resources" in found


def test_a_stage_without_a_web_acl_is_reported(dr: Inventory) -> None:
    resources = [r for r in dr.cloud_resources if not r.type.endswith("WebAclAssociation")]
    assert violations(POLICIES["stages-behind-waf"], resources) == ["1 API stages but only 0 web ACL associations"]


def test_importing_the_policies_starts_no_policy_server() -> None:
    policies = Path(ame_policies.__file__ or "")
    assert "PolicyPack(" not in policies.read_text()
    assert "PolicyPack(" in (policies.parent / "__main__.py").read_text()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda i: i.update(type="String"), "must be a SecureString"),
        (lambda i: i.pop("keyId"), "customer-managed key"),
    ],
)
def test_the_app_secret_must_stay_a_securestring_under_a_cmk(
    change: Callable[[dict[str, Any]], None], expected: str, prod: Inventory
) -> None:
    secret = prod.named(PARAMETER, "ame-functions-app-secret")
    assert violations(POLICIES["ssm-secrets-secure"], [secret]) == []
    found = violations(POLICIES["ssm-secrets-secure"], [replaced(secret, change)])
    assert found and expected in found[0], found
    # a plain, non-secret value on purpose (`insecureValue`) is not judged as a secret
    plain = replaced(secret, lambda i: i.update(type="String", insecureValue="false", value=None))
    assert violations(POLICIES["ssm-secrets-secure"], [plain]) == []


def test_an_audit_bucket_without_object_lock_is_reported(dr: Inventory) -> None:
    unlocked = "example-bank-ame-audit-us-west-2"
    resources = [r for r in dr.cloud_resources if not (r.type == LOCK and r.name == unlocked)]
    found = violations(POLICIES["audit-buckets-locked"], resources)
    assert found == [f"audit bucket {unlocked} has no Object Lock configuration"]


def test_a_stack_whose_audit_lines_reach_no_firehose_is_reported(dr: Inventory) -> None:
    resources = [r for r in dr.cloud_resources if not r.type.endswith("LogSubscriptionFilter")]
    assert violations(POLICIES["audit-trail-wired"], resources) == [
        "the API's audit records reach no subscription filter '{ $.kind = \"audit\" }'"
    ]
    resources = [r for r in dr.cloud_resources if r.type != STREAM]
    assert violations(POLICIES["audit-trail-wired"], resources) == [
        "no Firehose stream carries the audit records to the audit bucket"
    ]


def test_the_policy_pack_judges_by_the_programs_own_contract() -> None:
    # the pack runs on its own (infra/policy is its root), so it holds copies of these
    assert ame_policies.RESOURCE_SERVER == contract.RESOURCE_SERVER
    assert ame_policies.AUDIT_FILTER_PATTERN == contract.AUDIT_FILTER_PATTERN


@pytest.mark.parametrize(
    ("change", "allowed"),
    [
        (lambda s: None, True),  # as declared: X-Ray's write actions alone, on `*` (they have no resource type)
        (lambda s: s.update(Action=["xray:PutTraceSegments", "xray:GetTraceSummaries"]), False),
        (lambda s: s.update(Action=["xray:PutTraceSegments", "sqs:SendMessage"]), False),
        (lambda s: s.update(Action=["xray:*"]), False),
    ],
)
def test_only_the_xray_write_actions_may_name_every_resource_without_a_condition(
    change: Callable[[dict[str, Any]], None], allowed: bool, prod: Inventory
) -> None:
    # GIVEN the worker's role, which writes its trace segments (active tracing)
    (policy,) = [
        p for p in prod.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "ame-platform-assemble-envelopes"
    ]

    def edit(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs["policy"])
        (tracing,) = [s for s in document["Statement"] if s["Action"] == sorted(TRACING_ACTIONS)]
        change(tracing)
        inputs["policy"] = json.dumps(document)

    found = violations(POLICIES["iam-no-wildcards"], [replaced(policy, edit)])
    assert (found == []) is allowed, found


def test_a_state_machine_without_its_failure_alarms_is_reported(prod: Inventory) -> None:
    def run_alarm(r: DeclaredResource) -> bool:
        return r.type.endswith("MetricAlarm") and r.inputs.get("metricName") == "ExecutionsTimedOut"

    assert violations(POLICIES["state-machines-alarmed"], prod.cloud_resources) == []
    found = violations(POLICIES["state-machines-alarmed"], [r for r in prod.cloud_resources if not run_alarm(r)])
    assert found == ["state machine ame-lake-daily-us-east-1 has no ExecutionsTimedOut alarm"]
