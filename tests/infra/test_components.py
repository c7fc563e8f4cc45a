"""Components on their own, the way pulumi/examples `testing-unit-py` tests them, plus config and plan."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings

from ame_infra.backups import BackupVault, BackupVaultArgs
from ame_infra.chalice_package import ChalicePackage, PackageError, load_package
from ame_infra.config import AreaClient, StackConfigError, StackSettings, parse_areas
from ame_infra.contract import QUEUES, TABLES
from ame_infra.failover import Failover, FailoverArgs, HealthCheckAlarms, HealthCheckAlarmsArgs
from ame_infra.identity import AreaIdentity, AreaIdentityArgs
from ame_infra.mocked import Inventory, RecordingMocks, run_stack
from ame_infra.plan import render
from ame_infra.queues import MessageQueues, MessageQueuesArgs
from ame_infra.tables import GlobalTables, GlobalTablesArgs, TableReplicas, TableReplicasArgs

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
    queues = MessageQueues(
        "q", MessageQueuesArgs(QUEUES, KEY, max_receive_count=4, consumer_timeouts={"ame-envelope-requests": 30})
    )

    def check(values: list[Any]) -> None:
        redrive, dlq_arn, visibility, unconsumed = values
        assert json.loads(redrive) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 4}
        assert dlq_arn.endswith(":ame-envelope-requests-dlq")
        assert int(visibility) == 180  # six times its consumer's 30 s
        assert unconsumed is None  # no Lambda here reads it: SQS's default

    requests = queues.by_key["requests"]
    return pulumi.Output.all(
        requests.queue.redrive_policy,
        requests.dlq.arn,
        requests.queue.visibility_timeout_seconds,
        queues.by_key["results"].queue.visibility_timeout_seconds,
    ).apply(check)


@pulumi.runtime.test
def test_dr_replicas_join_the_primary_tables_by_their_arn(mocks: RecordingMocks) -> pulumi.Output[None]:
    tables = GlobalTables("t", GlobalTablesArgs(TABLES, KEY))
    replicas = TableReplicas("r", TableReplicasArgs(TABLES, "us-east-1", "111111111111", DR_KEY))

    def check(values: list[list[str]]) -> None:
        table_arns = values[: len(TABLES)]
        declared = [r for r in mocks.resources if r.type == "aws:dynamodb/tableReplica:TableReplica"]
        assert sorted(r.inputs["globalTableArn"] for r in declared) == sorted(table_arns)
        assert all(r.inputs["kmsKeyArn"] == DR_KEY for r in declared)
        assert not [r for r in mocks.resources if r.type == "aws:dynamodb/table:Table" and r.inputs.get("replicas")]

    return pulumi.Output.all(*tables.arns.values(), *replicas.arns.values()).apply(check)


@pytest.mark.parametrize(("role", "expected"), [("primary", "PRIMARY"), ("dr", "SECONDARY")])
@pulumi.runtime.test
def test_the_failover_record_follows_the_role(mocks: RecordingMocks, role: str, expected: str) -> pulumi.Output[None]:
    failover = Failover(
        "f",
        FailoverArgs(
            role,
            "us-east-1",
            "Z1",
            "api.example.com",
            "a.execute-api.us-east-1.amazonaws.com",
            "d-1",
            "Z2",
            "us-west-2",
        ),
    )

    def check(values: list[Any]) -> None:
        policies, record_check_id, followed_id, https_id = values
        assert [p["type"] for p in policies] == [expected]
        assert record_check_id == followed_id
        # The primary follows the calculated check (endpoint AND switch); the standby its endpoint alone.
        assert (record_check_id == https_id) is (role == "dr")

    record = failover.record
    return pulumi.Output.all(
        record.failover_routing_policies,
        record.health_check_id,
        failover.record_health_check_id,
        failover.health_check_id,
    ).apply(check)


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
    areas=(AreaClient("AREA-CREDIT", ("orders.read",)),),
    auth_domain_prefix="bank-ame-us-east-1",
)
PEER_ISSUER = "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_Peer"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"peer_region": "us-east-1"}, "must differ"),
        ({"region": "useast1"}, "not an AWS region"),
        ({"certificate_arn": "arn:aws:acm:us-west-2:1:certificate/x"}, "ACM certificate in us-east-1"),
        ({"bucket_prefix": "Bank_AME"}, "bucketPrefix"),
        ({"partner_urls": {"powers": "http://p"}}, "https"),
        ({"auth_domain_prefix": "bank-cognito-auth"}, "authDomainPrefix"),
        ({"auth_domain_prefix": "Bank_Auth"}, "authDomainPrefix"),
        ({"peer_token_issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Own"}, "us-west-2 user pool"),
        ({"peer_token_issuer": "https://evil.example.com/us-west-2_X"}, "peerTokenIssuer"),
        ({"peer_token_issuer": PEER_ISSUER, "peer_area_client_ids": {"AREA-NOPE": "c1"}}, "AREA-NOPE"),
        ({"peer_area_client_ids": {"AREA-CREDIT": "c1"}}, "without peerTokenIssuer"),
        ({"audit_retention_days": 0}, "auditRetentionDays"),
        ({"backup_vault_lock": "strict"}, "backupVaultLock"),
        ({"role": "dr", "standby_health_check_id": "hc-1"}, "standbyHealthCheckId is prod's"),
        ({"worker_max_concurrency": 1}, "workerMaxConcurrency"),
        ({"peer_health_url": "https://abc.execute-api.us-east-1.amazonaws.com/api/v1/health"}, "peerHealthUrl is dr's"),
        ({"role": "dr", "peer_health_url": "https://abc.execute-api.us-east-1.amazonaws.com/api"}, "output"),
        ({"role": "dr", "peer_health_url": "http://abc.example/api/v1/health"}, "regional health URL"),
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


def test_areas_config_keeps_known_scopes_in_the_apps_order() -> None:
    areas = parse_areas([{"area_id": "AREA-X", "scopes": ["orders.read", "orders.write"]}])
    assert areas == (AreaClient("AREA-X", ("orders.write", "orders.read")),)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "must list"),
        ([{"area_id": "AREA-X"}], "entries are"),
        ([{"area_id": "AREA X", "scopes": ["orders.read"]}], "not an area id"),
        ([{"area_id": "AREA-X", "scopes": []}], "non-empty list"),
        ([{"area_id": "AREA-X", "scopes": ["ame-platform/orders.read"]}], "unknown scopes"),
        ([{"area_id": "AREA-X", "scopes": ["orders.admin"]}], "unknown scopes"),
        ([{"area_id": "A", "scopes": ["orders.read"]}, {"area_id": "A", "scopes": ["orders.write"]}], "twice"),
    ],
)
def test_areas_config_refuses_what_cognito_or_the_app_would_not_take(raw: object, message: str) -> None:
    with pytest.raises(StackConfigError, match=message):
        parse_areas(raw)


def test_a_short_app_secret_fails_the_deployment(package_dir: Path) -> None:
    with pytest.raises(StackConfigError, match="at least 32 bytes"):
        run_stack("prod", package_dir, {"ame-platform:appSecret": "short"})


@pulumi.runtime.test
def test_the_api_trusts_the_peer_pool_and_its_clients_when_told(mocks: RecordingMocks) -> pulumi.Output[None]:
    identity = AreaIdentity(
        "id",
        AreaIdentityArgs(
            region="us-east-1",
            areas=(AreaClient("AREA-CREDIT", ("orders.read",)), AreaClient("AREA-CONSORTIUM", ("orders.write",))),
            domain_prefix="bank-ame-us-east-1",
            peer_token_issuer=PEER_ISSUER,
            peer_area_client_ids={"AREA-CREDIT": "peerclient1"},
        ),
    )

    def check(values: list[Any]) -> None:
        issuers, registry, own_credit, own_consortium, token_url, published_token_url = values
        assert issuers == f"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_MockedId,{PEER_ISSUER}"
        assert json.loads(registry) == {
            own_credit: "AREA-CREDIT",
            own_consortium: "AREA-CONSORTIUM",
            "peerclient1": "AREA-CREDIT",
        }
        assert token_url == "https://bank-ame-us-east-1.auth.us-east-1.amazoncognito.com/oauth2/token"
        assert published_token_url == token_url

    return pulumi.Output.all(
        identity.environment["AME_TOKEN_ISSUERS"],
        identity.environment["AME_AREA_CLIENTS"],
        identity.client_ids["AREA-CREDIT"],
        identity.client_ids["AREA-CONSORTIUM"],
        identity.token_url,
        identity.environment["AME_TOKEN_URL"],
    ).apply(check)


@pulumi.runtime.test
def test_prod_alarms_on_the_standbys_route53_check_once_told_its_id(mocks: RecordingMocks) -> pulumi.Output[None]:
    alarms = HealthCheckAlarms(
        "h", HealthCheckAlarmsArgs("us-east-1", "hc-primary", "us-west-2", "hc-standby", "arn:aws:sns:us-east-1:1:t")
    )

    def check(_: object) -> None:
        alarms = {r.inputs["name"]: r.inputs for r in mocks.resources if r.type.endswith("MetricAlarm")}
        assert {name: a["dimensions"]["HealthCheckId"] for name, a in alarms.items()} == {
            "ame-platform-route53-primary-us-east-1-unhealthy": "hc-primary",
            "ame-platform-route53-standby-us-west-2-unhealthy": "hc-standby",
        }

    return pulumi.Output.all(*[a.arn for a in alarms.alarms]).apply(check)


@pytest.mark.parametrize(("mode", "changeable_days"), [("governance", None), ("compliance", 3)])
@pulumi.runtime.test
def test_the_vault_lock_is_governance_unless_config_says_compliance(
    mocks: RecordingMocks, mode: str, changeable_days: int | None
) -> pulumi.Output[None]:
    vault = BackupVault("v", BackupVaultArgs("us-east-1", KEY, lock_mode=mode))

    def check(_: object) -> None:
        (lock,) = [r for r in mocks.resources if r.type.endswith("VaultLockConfiguration")]
        # without changeableForDays AWS keeps the lock in governance mode; with it, compliance after those days
        assert lock.inputs.get("changeableForDays") == changeable_days
        assert (lock.inputs["minRetentionDays"], lock.inputs["maxRetentionDays"]) == (7, 35)
        (settings,) = [r for r in mocks.resources if r.type.endswith("RegionSettings")]
        assert settings.inputs["resourceTypeOptInPreference"] == {"DynamoDB": True}
        assert settings.inputs["resourceTypeManagementPreference"] == {"DynamoDB": True}

    return pulumi.Output.all(vault.arn, vault.lock.id, vault.region_settings.id).apply(check)
