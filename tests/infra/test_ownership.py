"""Both stacks together: no physical name taken twice, each stack in its own region, a deploy order
that works. Each stack is correct on its own in test_stacks.py; these failures only show side by side."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ame_infra import observability
from ame_infra.mocked import PROVIDER_TYPE, DeclaredResource, Inventory, run_stack

ACCOUNT = "account"
"""The scope of names unique in the whole account (or, for buckets, in all of AWS), whatever the region."""

Namer = Callable[[dict[str, Any]], str | None]


def _input(key: str) -> Namer:
    return lambda inputs: inputs.get(key)


def _table_of_replica(inputs: dict[str, Any]) -> str:
    return str(inputs["globalTableArn"]).rsplit("/", 1)[-1]


def _record(inputs: dict[str, Any]) -> str:
    return "/".join(str(inputs.get(k)) for k in ("zoneId", "name", "type", "setIdentifier"))


# type -> (kind of name, account-wide?, how the name is read from the inputs). A replica takes its
# table's name in its region, so it shares the table's kind.
PHYSICAL_NAMES: dict[str, tuple[str, bool, Namer]] = {
    "aws:iam/role:Role": ("iam role", True, _input("name")),
    "aws:iam/policy:Policy": ("iam policy", True, _input("name")),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboard", True, _input("dashboardName")),
    "aws:route53/record:Record": ("route53 record", True, _record),
    "aws:s3/bucket:Bucket": ("s3 bucket", True, _input("bucket")),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("alarm", False, _input("name")),
    "aws:sqs/queue:Queue": ("queue", False, _input("name")),
    "aws:cloudwatch/logGroup:LogGroup": ("log group", False, _input("name")),
    "aws:lambda/function:Function": ("function", False, _input("name")),
    "aws:kms/alias:Alias": ("kms alias", False, _input("name")),
    # A second deploy under the same name adds a version to the other stack's layer in that region.
    "aws:lambda/layerVersion:LayerVersion": ("lambda layer", False, _input("layerName")),
    "aws:sns/topic:Topic": ("topic", False, _input("name")),
    "aws:ssm/parameter:Parameter": ("ssm parameter", False, _input("name")),
    "aws:dynamodb/table:Table": ("dynamodb table", False, _input("name")),
    "aws:dynamodb/tableReplica:TableReplica": ("dynamodb table", False, _table_of_replica),
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": ("firehose stream", False, _input("name")),
    "aws:backup/vault:Vault": ("backup vault", False, _input("name")),
    "aws:backup/plan:Plan": ("backup plan", False, _input("name")),
    "aws:cloudwatch/eventRule:EventRule": ("event rule", False, _input("name")),
    "aws:apigateway/domainName:DomainName": ("api domain", False, _input("domainName")),
    "aws:cognito/userPoolDomain:UserPoolDomain": ("cognito domain", False, _input("domain")),
    "aws:wafv2/webAcl:WebAcl": ("web acl", False, lambda i: f"{i.get('scope')}/{i.get('name')}"),
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter": (
        "subscription filter",
        False,
        lambda i: f"{i.get('logGroup')}/{i.get('name')}",
    ),
    # The data lake (lake.py).
    "aws:sfn/stateMachine:StateMachine": ("state machine", False, _input("name")),
    "aws:scheduler/schedule:Schedule": (
        "schedule",
        False,
        lambda i: f"{i.get('groupName', 'default')}/{i.get('name')}",
    ),
    "aws:glue/catalogDatabase:CatalogDatabase": ("glue database", False, _input("name")),
    "aws:glue/catalogTable:CatalogTable": ("glue table", False, lambda i: f"{i.get('databaseName')}.{i.get('name')}"),
    "aws:athena/workgroup:Workgroup": ("athena workgroup", False, _input("name")),
    "aws:ecr/repository:Repository": ("ecr repository", False, _input("name")),
    # One per account and region: the region is the whole name.
    "aws:apigateway/account:Account": ("api gateway account settings", False, lambda _: "singleton"),
    "aws:backup/regionSettings:RegionSettings": ("backup region settings", False, lambda _: "singleton"),
}
UNNAMED = {
    # AWS gives these an id, or their name is free to repeat (user pools, REST APIs).
    "aws:kms/key:Key",
    "aws:route53/healthCheck:HealthCheck",
    "aws:cognito/userPool:UserPool",
    "aws:apigateway/restApi:RestApi",
    "aws:apigateway/deployment:Deployment",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
    "aws:sns/topicSubscription:TopicSubscription",
    # Settings or parts of a resource named above: one each, inside it.
    "aws:apigateway/basePathMapping:BasePathMapping",
    "aws:apigateway/methodSettings:MethodSettings",
    "aws:apigateway/stage:Stage",
    "aws:backup/selection:Selection",
    "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
    "aws:cloudwatch/eventTarget:EventTarget",
    "aws:cloudwatch/logStream:LogStream",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy",
    "aws:cognito/resourceServer:ResourceServer",
    "aws:cognito/userPoolClient:UserPoolClient",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:lambda/permission:Permission",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
    "aws:wafv2/webAclAssociation:WebAclAssociation",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
}
ROUTE53 = {"aws:route53/record:Record", "aws:route53/healthCheck:HealthCheck"}

PhysicalName = tuple[str, str, str]
"""(scope: `account` or the region, kind, name)."""


def physical_name(resource: DeclaredResource) -> PhysicalName | None:
    """None when AWS names it (or Pulumi does, with a random suffix: no explicit name in the inputs)."""
    if resource.type not in PHYSICAL_NAMES:
        return None
    kind, account_wide, namer = PHYSICAL_NAMES[resource.type]
    name = namer(resource.inputs)
    if name is None:
        return None
    return (ACCOUNT if account_wide else str(resource.region), kind, name)


def collisions(*stacks: Inventory) -> list[PhysicalName]:
    """Every physical name two declared resources share in one scope: the second `pulumi up` would
    replace the first's resource or fail on it."""
    names = Counter(n for stack in stacks for r in stack.cloud_resources if (n := physical_name(r)) is not None)
    return sorted(name for name, count in names.items() if count > 1)


def test_every_declared_type_is_classified_named_or_not(prod: Inventory, dr: Inventory) -> None:
    declared = {r.type for stack in (prod, dr) for r in stack.cloud_resources}
    assert not PHYSICAL_NAMES.keys() & UNNAMED
    assert not declared - PHYSICAL_NAMES.keys() - UNNAMED, "say whether AWS makes these names unique"


def test_no_two_resources_of_both_stacks_share_a_physical_name_in_one_scope(prod: Inventory, dr: Inventory) -> None:
    assert collisions(prod, dr) == []
    # the check sees both scopes: names each stack repeats in its own region, and the account-wide ones
    named = [n for stack in (prod, dr) for r in stack.cloud_resources if (n := physical_name(r)) is not None]
    assert ("us-east-1", "queue", "ame-envelope-requests") in named and (
        "us-west-2",
        "queue",
        "ame-envelope-requests",
    ) in named
    assert {scope for scope, _, _ in named} == {ACCOUNT, "us-east-1", "us-west-2"}


def test_each_stacks_dashboard_carries_its_region(prod: Inventory, dr: Inventory) -> None:
    (east,), (west,) = (
        prod.of_type("aws:cloudwatch/dashboard:Dashboard"),
        dr.of_type("aws:cloudwatch/dashboard:Dashboard"),
    )
    assert (east.inputs["dashboardName"], west.inputs["dashboardName"]) == (
        "ame-platform-us-east-1",
        "ame-platform-us-west-2",
    )
    widgets = json.loads(west.inputs["dashboardBody"])["widgets"]
    assert {w["properties"]["region"] for w in widgets} == {"us-west-2"}


def test_a_dashboard_name_without_its_region_is_a_collision(package_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN both stacks built with a dashboard name that drops the region (dashboards are account-wide)
    monkeypatch.setattr(observability, "dashboard_name", lambda region: "ame-platform")
    # WHEN they are checked together THEN the dashboard is the one collision
    assert collisions(run_stack("prod", package_dir), run_stack("dr", package_dir)) == [
        (ACCOUNT, "dashboard", "ame-platform")
    ]


def test_a_regional_name_repeated_in_one_region_is_a_collision(prod: Inventory) -> None:
    (alarm,) = [
        a for a in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if "route53" in a.inputs.get("name", "")
    ]
    # the health-check alarm both stacks used to declare in us-east-1
    twin = Inventory("dr", [replace(alarm, name="copy")])
    assert collisions(prod, twin) == [("us-east-1", "alarm", alarm.inputs["name"])]


# --- each stack in its own region ------------------------------------------------------------


def test_each_stack_declares_resources_in_its_own_region_only(prod: Inventory, dr: Inventory) -> None:
    """The dr stack can be updated while us-east-1 is down, and prod while us-west-2 is."""
    assert {r.region for r in dr.cloud_resources} == {"us-west-2"}
    assert {r.region for r in prod.cloud_resources} == {"us-east-1"}
    assert [r.inputs["region"] for r in dr.of_type(PROVIDER_TYPE)] == ["us-west-2"]
    assert [r.inputs["region"] for r in prod.of_type(PROVIDER_TYPE)] == ["us-east-1"]


def test_the_dr_stacks_account_wide_objects_are_its_route53_record_and_check_and_its_iam(dr: Inventory) -> None:
    """Global services (docs/deployment.md, Two stacks, two regions): Route 53's SECONDARY record and
    the check it follows describe this region; IAM roles belong to its functions."""
    global_types = {r.type for r in dr.cloud_resources if r.type.split(":")[1].split("/")[0] in ("route53", "iam")}
    assert global_types == ROUTE53 | {
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    }
    assert not [
        a for a in dr.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["namespace"] == "AWS/Route53"
    ]


# --- the deploy order --------------------------------------------------------------------------

Reference = tuple[str, str, str]
"""(kind, region, name) of a resource one stack names and the other creates."""


def _arn_region(arn: str) -> str:
    return arn.split(":")[3]


def references(stack: Inventory) -> set[Reference]:
    """What the stack points at by name in the other stack's region: AWS checks each exists at create."""
    found: set[Reference] = set()
    for r in stack.cloud_resources:
        if r.type == "aws:route53/healthCheck:HealthCheck" and r.inputs["type"] == "CLOUDWATCH_METRIC":
            found.add(("alarm", r.inputs["cloudwatchAlarmRegion"], r.inputs["cloudwatchAlarmName"]))
        elif r.type == "aws:s3/bucketReplicationConfig:BucketReplicationConfig":
            for rule in r.inputs["rules"]:
                destination = rule["destination"]
                found.add(("s3 bucket", "", destination["bucket"].removeprefix("arn:aws:s3:::")))
                alias_arn = destination["encryptionConfiguration"]["replicaKmsKeyId"]
                found.add(("kms alias", _arn_region(alias_arn), alias_arn.split(":", 5)[5]))
        elif r.type == "aws:backup/plan:Plan":
            for rule in r.inputs["rules"]:
                for copy in rule["copyActions"]:
                    arn = copy["destinationVaultArn"]
                    found.add(("backup vault", _arn_region(arn), arn.rsplit(":", 1)[-1]))
        elif r.type == "aws:dynamodb/tableReplica:TableReplica":
            arn = r.inputs["globalTableArn"]
            found.add(("dynamodb table", _arn_region(arn), arn.rsplit("/", 1)[-1]))
    return found


def provides(stack: Inventory) -> set[Reference]:
    kinds = {
        "aws:cloudwatch/metricAlarm:MetricAlarm": ("alarm", "name"),
        "aws:s3/bucket:Bucket": ("s3 bucket", "bucket"),
        "aws:kms/alias:Alias": ("kms alias", "name"),
        "aws:backup/vault:Vault": ("backup vault", "name"),
        "aws:dynamodb/table:Table": ("dynamodb table", "name"),
    }
    return {
        (kind, "" if kind == "s3 bucket" else str(r.region), r.inputs[key])
        for r in stack.cloud_resources
        if r.type in kinds
        for kind, key in [kinds[r.type]]
        if key in r.inputs  # without a name, nothing can name it from the other stack
    }


def deploy(*steps: Inventory) -> list[str]:
    """`pulumi up` of each stack in turn: what a step names that no earlier step (nor itself) created."""
    existing: set[Reference] = set()
    missing = []
    for stack in steps:
        missing += [
            f"{stack.stack}: {kind} {region} {name}"
            for kind, region, name in sorted(references(stack) - existing - provides(stack))
        ]
        existing |= provides(stack)
    return missing


@pytest.fixture(scope="session")
def dr_bootstrap(package_dir: Path) -> Inventory:
    """The dr stack's very first `pulumi up`: before prod exists, without the table replicas."""
    return run_stack("dr", package_dir, {"ame-platform:tableReplicas": "false"})


def test_the_references_between_stacks_are_the_ones_documented(prod: Inventory, dr: Inventory) -> None:
    assert {kind for kind, _, _ in references(prod)} == {"alarm", "s3 bucket", "kms alias", "backup vault"}
    assert {kind for kind, _, _ in references(dr)} == {"dynamodb table"}
    assert {region for kind, region, _ in references(prod) if kind != "s3 bucket"} == {"us-west-2"}
    assert {region for _, region, _ in references(dr)} == {"us-east-1"}


def test_first_deployment_dr_without_replicas_then_prod_then_dr_creates_everything_in_order(
    prod: Inventory, dr: Inventory, dr_bootstrap: Inventory
) -> None:
    assert not dr_bootstrap.of_type("aws:dynamodb/tableReplica:TableReplica")
    assert deploy(dr_bootstrap, prod, dr) == []


def test_prod_first_would_fail_on_the_switch_alarm_buckets_key_and_vault_dr_creates(prod: Inventory) -> None:
    missing = deploy(prod)
    assert "prod: alarm us-west-2 ame-platform-primary-out-of-service" in missing
    assert "prod: s3 bucket  example-bank-ame-audit-us-west-2" in missing
    assert "prod: kms alias us-west-2 alias/ame-data" in missing
    assert "prod: backup vault us-west-2 ame-platform-backups-us-west-2" in missing


def test_dr_with_replicas_before_prod_would_fail_on_the_tables(dr: Inventory) -> None:
    assert deploy(dr) == [
        f"dr: dynamodb table us-east-1 {name}" for name in ("ame-credit", "ame-idempotency", "ame-orders")
    ]
