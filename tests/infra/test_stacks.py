"""What each stack declares, read from the inputs the program sends to the (mocked) engine."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ame_infra.api import GATEWAY_RESPONSES
from ame_infra.buckets import BUCKETS
from ame_infra.chalice_package import ChalicePackage
from ame_infra.contract import FAILOVER_SWITCH_ALARM, QUEUES, TABLES
from ame_infra.failover import HEALTH_PATH
from ame_infra.limits import API_GATEWAY_TIMEOUT_SECONDS
from ame_infra.mocked import DeclaredResource, Inventory
from chalicelib.settings import PARTNER_URL_VARIABLES, Settings
from tests.infra.conftest import app_functions, policy_document

TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
BUCKET = "aws:s3/bucket:Bucket"
ROOT = Path(__file__).resolve().parents[2]
REPLICA = "aws:dynamodb/tableReplica:TableReplica"


def region_of(stack: Inventory) -> str:
    return "us-east-1" if stack.stack == "prod" else "us-west-2"


def alarms(stack: Inventory, metric: str) -> list[DeclaredResource]:
    return [a for a in stack.of_type(ALARM) if a.inputs["metricName"] == metric]


def function(stack: Inventory, handler: str) -> DeclaredResource:
    (match,) = [f for f in app_functions(stack) if f.inputs["handler"] == handler]
    return match


# --- both stacks -----------------------------------------------------------------------------


def test_every_aws_resource_names_an_explicit_provider_and_a_region(stack: Inventory) -> None:
    for resource in stack.cloud_resources:
        assert resource.provider_name and not resource.provider_name.startswith("default"), resource.name
        assert resource.region in ("us-east-1", "us-west-2"), resource.name


def test_every_queue_redrives_to_its_dlq_after_the_apps_max_receive_count(stack: Inventory) -> None:
    app_default = Settings.from_env(dict.fromkeys(PARTNER_URL_VARIABLES.values(), "https://x")).max_receive_count
    queues = {q.inputs["name"]: q for q in stack.of_type(QUEUE)}
    assert set(queues) == {n for q in QUEUES for n in (q.name, q.dlq_name)}
    for spec in QUEUES:
        redrive = json.loads(queues[spec.name].inputs["redrivePolicy"])
        assert redrive["deadLetterTargetArn"].endswith(f":{spec.dlq_name}")
        assert redrive["maxReceiveCount"] == app_default
        assert "redrivePolicy" not in queues[spec.dlq_name].inputs
        assert queues[spec.dlq_name].inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    assert all(q.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:") for q in queues.values())


def test_every_dlq_alarms_on_its_first_message(stack: Inventory) -> None:
    watched = {a.inputs["dimensions"]["QueueName"]: a for a in alarms(stack, "ApproximateNumberOfMessagesVisible")}
    for spec in QUEUES:
        alarm = watched[spec.dlq_name]
        assert (alarm.inputs["threshold"], alarm.inputs["comparisonOperator"]) == (0, "GreaterThanThreshold")
        assert alarm.inputs["alarmActions"], "an alarm nobody hears"


def test_the_envelope_handler_reports_batch_item_failures_on_the_requests_queue(
    stack: Inventory, package: ChalicePackage
) -> None:
    (mapping,) = stack.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["eventSourceArn"].endswith(":ame-envelope-requests")
    assert mapping.inputs["batchSize"] == 10
    # Lambda's guidance: the queue hides a message six function-timeouts long.
    (requests,) = [q for q in stack.of_type(QUEUE) if q.inputs["name"] == "ame-envelope-requests"]
    worker = next(f for f in package.functions if f.sqs_source)
    assert requests.inputs["visibilityTimeoutSeconds"] >= 6 * worker.timeout_seconds


def test_functions_are_the_packaged_handlers_with_an_environment_the_app_accepts(
    stack: Inventory, package: ChalicePackage
) -> None:
    functions = app_functions(stack)
    assert {f.inputs["handler"] for f in functions} == {f.handler for f in package.functions}
    for declared in functions:
        env = declared.inputs["environment"]["variables"]
        settings = Settings.from_env({**env, "AWS_REGION": declared.region or ""})
        assert settings.role == ("primary" if stack.stack == "prod" else "dr")
        assert (settings.orders_table, settings.credit_table) == ("ame-orders", "ame-credit")
        assert all(url.startswith("https://") for url in settings.partner_urls.values())
        assert declared.inputs["runtime"] == "python3.11"


def test_no_identity_policy_grants_a_wildcard_action_or_every_resource(stack: Inventory) -> None:
    policies = stack.of_type(ROLE_POLICY)
    assert policies
    for policy in policies:
        for statement in policy_document(policy):
            actions, resources = statement["Action"], statement["Resource"]
            assert isinstance(actions, list) and isinstance(resources, list)
            assert not [a for a in actions if "*" in a], policy.name
            if actions == ["cloudwatch:PutMetricData"]:  # no resource type in AWS: a condition narrows it instead
                assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "AME/Failover"}}
                continue
            if actions == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]:  # no resource type, no condition
                continue
            assert "*" not in resources, policy.name


def test_each_function_reaches_only_its_own_tables_and_queues(stack: Inventory) -> None:
    def grants(handler: str) -> dict[str, set[str]]:
        name = function(stack, handler).inputs["name"]
        (policy,) = [p for p in stack.of_type(ROLE_POLICY) if p.name == name]
        granted: dict[str, set[str]] = {}
        for statement in policy_document(policy):
            for resource in statement["Resource"]:  # type: ignore[attr-defined]
                granted.setdefault(resource, set()).update(statement["Action"])  # type: ignore[arg-type]
        return granted

    region = "us-east-1" if stack.stack == "prod" else "us-west-2"
    table = f"arn:aws:dynamodb:{region}:111111111111:table/"
    api, worker = grants("app.app"), grants("app.assemble_envelopes")
    assert "dynamodb:Query" in api[table + "ame-credit/index/by-customer"]
    assert "dynamodb:DeleteItem" in api[table + "ame-idempotency"]
    assert {r for r in worker if r.startswith(table)} == {table + "ame-orders"}
    assert worker[table + "ame-orders"] == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    assert any("sqs:ReceiveMessage" in actions for actions in worker.values())
    assert not any("sqs:ReceiveMessage" in actions for actions in api.values())
    sweeper = grants("app.sweep_stuck_orders")
    assert {r: a for r, a in sweeper.items() if r.startswith(table)} == {
        table + "ame-orders": {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem"},
        table + "ame-orders/index/by-status": {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem"},
    }
    # the legacy SSM switch is gone: the failover switch is an alarm
    assert not [r for g in (api, sweeper, worker) for r in g if r.endswith("/out-of-service")]


def test_the_sweeper_runs_every_minute_and_no_ssm_switch_is_left(stack: Inventory) -> None:
    sweeper = function(stack, "app.sweep_stuck_orders")
    (rule,) = stack.of_type("aws:cloudwatch/eventRule:EventRule")
    assert rule.inputs["scheduleExpression"] == "rate(1 minute)"
    (target,) = stack.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["arn"].endswith(f":{sweeper.inputs['name']}")
    permissions = {p.inputs["principal"] for p in stack.of_type("aws:lambda/permission:Permission")}
    assert permissions == {"events.amazonaws.com", "apigateway.amazonaws.com"}
    parameters = [p.inputs["name"] for p in stack.of_type("aws:ssm/parameter:Parameter")]
    lake = [f"/ame-platform/{region_of(stack)}/lake-pseudonym-key"] if stack.stack == "prod" else []
    assert parameters == [f"/ame-platform/{region_of(stack)}/app-secret", *lake]
    assert "AME_OUT_OF_SERVICE_PARAMETER" not in sweeper.inputs["environment"]["variables"]


def test_log_groups_keep_logs_for_a_set_time_under_a_cmk(stack: Inventory) -> None:
    groups = stack.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert {g.inputs["name"] for g in groups} >= {
        "/aws/lambda/ame-platform-api-handler",
        "/aws/lambda/ame-platform-assemble-envelopes",
        "/aws/apigateway/ame-platform/access",
        "aws-waf-logs-ame-platform",
    }
    for group in groups:
        assert group.inputs["retentionInDays"] == 90
        assert group.inputs["kmsKeyId"].startswith(f"arn:aws:kms:{group.region}:")


def test_rest_api_serves_chalices_routes_through_the_api_function(stack: Inventory) -> None:
    api = stack.named("aws:apigateway/restApi:RestApi", "ame-platform")
    body = json.loads(api.inputs["body"])
    handler = function(stack, "app.app").inputs["name"]
    integrations = [op["x-amazon-apigateway-integration"] for ops in body["paths"].values() for op in ops.values()]
    assert "/v1/orders" in body["paths"] and "/v1/credit/decisions" in body["paths"]
    assert all(handler in i["uri"] and i["type"] == "aws_proxy" for i in integrations)
    assert body["x-amazon-apigateway-gateway-responses"] == GATEWAY_RESPONSES
    assert api.inputs["endpointConfiguration"]["types"] == "REGIONAL"


def test_access_logs_record_the_route_template_never_the_path_with_its_cpf(stack: Inventory) -> None:
    (stage,) = stack.of_type("aws:apigateway/stage:Stage")
    log_format = json.loads(stage.inputs["accessLogSettings"]["format"])
    assert log_format["route"] == "$context.resourcePath"
    assert not [v for v in log_format.values() if v == "$context.path"]
    (settings,) = stack.of_type("aws:apigateway/methodSettings:MethodSettings")
    assert settings.inputs["settings"]["dataTraceEnabled"] is False
    assert settings.inputs["settings"]["metricsEnabled"] is True


def test_waf_guards_the_stage_with_rate_limit_common_and_sqli_rules(stack: Inventory) -> None:
    (acl,) = stack.of_type("aws:wafv2/webAcl:WebAcl")
    statements = [rule["statement"] for rule in acl.inputs["rules"]]
    assert statements[0]["rateBasedStatement"] == {"limit": 2000, "aggregateKeyType": "IP"}
    groups = {s["managedRuleGroupStatement"]["name"] for s in statements[1:]}
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesSQLiRuleSet"} <= groups
    (association,) = stack.of_type("aws:wafv2/webAclAssociation:WebAclAssociation")
    assert association.inputs["webAclArn"].endswith(":ame-platform")
    (logging,) = stack.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    assert {"uriPath": {}} in logging.inputs["redactedFields"]


def test_api_has_a_regional_custom_domain_on_tls_1_2(stack: Inventory) -> None:
    (domain,) = stack.of_type("aws:apigateway/domainName:DomainName")
    assert domain.inputs["domainName"] == "api.ame.example.com"
    assert domain.inputs["regionalCertificateArn"].startswith(f"arn:aws:acm:{domain.region}:")
    assert domain.inputs["securityPolicy"] == "TLS_1_2"
    assert stack.of_type("aws:apigateway/basePathMapping:BasePathMapping")


def test_alarms_cover_the_slo_errors_throttles_and_replication(stack: Inventory) -> None:
    (latency,) = alarms(stack, "Latency")
    assert (latency.inputs["extendedStatistic"], latency.inputs["threshold"]) == ("p95", 200)
    (errors,) = alarms(stack, "5XXError")
    assert (errors.inputs["statistic"], errors.inputs["threshold"]) == ("Average", 0.01)
    function_names = {f.inputs["name"] for f in stack.of_type(FUNCTION)}
    for metric in ("Errors", "Throttles"):
        assert {a.inputs["dimensions"]["FunctionName"] for a in alarms(stack, metric)} == function_names
    peer = "us-west-2" if stack.stack == "prod" else "us-east-1"
    replication = alarms(stack, "ReplicationLatency")
    assert {a.inputs["dimensions"]["TableName"] for a in replication} == {t.name for t in TABLES}
    assert {a.inputs["dimensions"]["ReceivingRegion"] for a in replication} == {peer}


def test_prod_alarms_on_the_primary_records_health_where_route53_publishes_metrics(
    prod: Inventory, dr: Inventory
) -> None:
    (alarm,) = alarms(prod, "HealthCheckStatus")
    (record,) = prod.of_type(RECORD)
    assert alarm.region == "us-east-1"
    assert alarm.inputs["name"] == "ame-platform-route53-primary-us-east-1-unhealthy"
    assert alarm.inputs["dimensions"]["HealthCheckId"] == record.inputs["healthCheckId"]
    (topic_arn,) = alarm.inputs["alarmActions"]
    assert ":sns:us-east-1:" in topic_arn
    assert not alarms(dr, "HealthCheckStatus")  # the dr stack declares nothing in us-east-1


def test_kms_keys_rotate_and_each_region_has_its_own(stack: Inventory) -> None:
    keys = stack.of_type("aws:kms/key:Key")
    assert all(k.inputs["enableKeyRotation"] for k in keys)
    assert len({(k.name, k.region) for k in keys}) == len(keys)


# --- failover --------------------------------------------------------------------------------


def https_check(stack: Inventory) -> DeclaredResource:
    (check,) = [c for c in stack.of_type(HEALTH_CHECK) if c.inputs["type"] == "HTTPS"]
    return check


@pytest.mark.parametrize(
    ("stack_name", "role", "region"), [("prod", "PRIMARY", "us-east-1"), ("dr", "SECONDARY", "us-west-2")]
)
def test_each_stack_owns_one_failover_record_and_checks_its_own_region(
    stack_name: str, role: str, region: str, request: pytest.FixtureRequest
) -> None:
    stack: Inventory = request.getfixturevalue(stack_name)
    (record,) = stack.of_type(RECORD)
    check = https_check(stack)
    assert record.inputs["failoverRoutingPolicies"] == [{"type": role}]
    assert record.inputs["name"] == "api.ame.example.com" and record.inputs["type"] == "A"
    assert record.inputs["aliases"][0]["evaluateTargetHealth"] is True
    assert check.inputs["fqdn"].endswith(f".execute-api.{region}.amazonaws.com")
    assert (check.inputs["type"], check.inputs["resourcePath"]) == ("HTTPS", HEALTH_PATH)
    assert check.inputs["requestInterval"] * check.inputs["failureThreshold"] <= 60
    assert stack.exports["health_check_id"].value == f"{check.name}-id"
    assert stack.exports["record_health_check_id"].value == record.inputs["healthCheckId"]


def test_the_standby_record_follows_its_own_endpoint_only(dr: Inventory) -> None:
    (record,) = dr.of_type(RECORD)
    assert [c.inputs["type"] for c in dr.of_type(HEALTH_CHECK)] == ["HTTPS"]
    assert record.inputs["healthCheckId"] == f"{https_check(dr).name}-id"


def test_the_dr_stack_owns_the_failover_switch_alarm_in_its_region(dr: Inventory, prod: Inventory) -> None:
    (switch,) = [a for a in dr.of_type(ALARM) if a.inputs.get("name") == FAILOVER_SWITCH_ALARM]
    assert switch.region == "us-west-2"
    assert {k: switch.inputs[k] for k in SWITCH_SETTINGS} == SWITCH_SETTINGS
    assert "dimensions" not in switch.inputs
    assert switch.inputs["alarmActions"] == [dr.exports["alert_topic_arn"].value]  # on-call hears every flip
    assert not [a for a in prod.of_type(ALARM) if a.inputs.get("name") == FAILOVER_SWITCH_ALARM]


SWITCH_SETTINGS = {
    "namespace": "AME/Failover",
    "metricName": "PrimaryOutOfService",
    "statistic": "Maximum",
    "period": 60,
    "evaluationPeriods": 1,
    "threshold": 1,
    "comparisonOperator": "GreaterThanOrEqualToThreshold",
    # the last state holds: no data never fails back on its own
    "treatMissingData": "ignore",
}


def test_the_primary_record_follows_its_endpoint_and_the_switch_in_the_dr_region(prod: Inventory) -> None:
    checks = {c.name: c.inputs for c in prod.of_type(HEALTH_CHECK)}
    (record,) = prod.of_type(RECORD)
    followed = checks[record.inputs["healthCheckId"].removesuffix("-id")]
    assert followed["type"] == "CALCULATED" and followed["childHealthThreshold"] == 2
    children = [checks[child.removesuffix("-id")] for child in followed["childHealthchecks"]]
    assert sorted(c["type"] for c in children) == ["CLOUDWATCH_METRIC", "HTTPS"]
    (switch,) = [c for c in children if c["type"] == "CLOUDWATCH_METRIC"]
    assert (switch["cloudwatchAlarmName"], switch["cloudwatchAlarmRegion"]) == (FAILOVER_SWITCH_ALARM, "us-west-2")
    assert switch["insufficientDataHealthStatus"] == "Healthy"


def test_both_stacks_export_the_switch_and_give_it_to_every_function(stack: Inventory) -> None:
    expected = {
        "region": "us-west-2",
        "alarm_name": FAILOVER_SWITCH_ALARM,
        "namespace": "AME/Failover",
        "metric_name": "PrimaryOutOfService",
    }
    assert stack.exports["failover_switch"].value == expected
    for declared in app_functions(stack):
        env = declared.inputs["environment"]["variables"]
        assert (env["AME_FAILOVER_SWITCH_REGION"], env["AME_FAILOVER_SWITCH_ALARM"]) == (
            "us-west-2",
            FAILOVER_SWITCH_ALARM,
        )


def test_both_records_share_a_name_but_not_a_set_identifier(prod: Inventory, dr: Inventory) -> None:
    (primary,), (secondary,) = prod.of_type(RECORD), dr.of_type(RECORD)
    assert primary.inputs["name"] == secondary.inputs["name"]
    assert primary.inputs["setIdentifier"] != secondary.inputs["setIdentifier"]


# --- the data layer: each stack owns its region's ------------------------------------------------


def test_prod_declares_the_tables_with_pitr_streams_and_protection_and_no_inline_replica(prod: Inventory) -> None:
    tables = {t.inputs["name"]: t for t in prod.of_type(TABLE)}
    assert set(tables) == {t.name for t in TABLES}
    for spec in TABLES:
        table = tables[spec.name].inputs
        assert tables[spec.name].region == "us-east-1" and tables[spec.name].protect
        assert table["serverSideEncryption"]["kmsKeyArn"].startswith("arn:aws:kms:us-east-1:")
        assert table["pointInTimeRecovery"] == {"enabled": True}
        assert (table["streamEnabled"], table["streamViewType"]) == (True, "NEW_AND_OLD_IMAGES")
        assert table["deletionProtectionEnabled"] is True
        assert not table.get("replicas")  # the dr stack's TableReplica owns the replica
        ttl = {"attributeName": spec.ttl_attribute, "enabled": True} if spec.ttl_attribute else None
        assert table.get("ttl") == ttl


def test_dr_owns_a_replica_of_every_table_under_its_own_key(prod: Inventory, dr: Inventory) -> None:
    replicas = dr.of_type(REPLICA)
    table_arns = {f"arn:aws:dynamodb:us-east-1:111111111111:table/{t.name}" for t in TABLES}
    assert (
        {r.inputs["globalTableArn"] for r in replicas} == table_arns == set(prod.exports["table_arns"].value.values())
    )
    (data_key,) = [k for k in dr.of_type("aws:kms/key:Key") if k.name == "ame-data-us-west-2"]
    for replica in replicas:
        assert replica.region == "us-west-2" and replica.protect
        assert replica.inputs["kmsKeyArn"] == f"arn:aws:kms:us-west-2:111111111111:key/{data_key.name}-key-id"
        assert replica.inputs["pointInTimeRecovery"] is True
        assert replica.inputs["deletionProtectionEnabled"] is True


def test_dr_holds_copies_only_never_tables_replication_sources_or_a_backup_plan(dr: Inventory) -> None:
    owned = {r.type for r in dr.cloud_resources}
    assert not owned & {TABLE, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "aws:backup/plan:Plan"}
    assert owned >= {REPLICA, BUCKET, "aws:backup/vault:Vault"}


def test_each_stack_owns_its_regions_buckets_locked_down_and_tiered(stack: Inventory) -> None:
    region = region_of(stack)
    buckets = {b.inputs["bucket"]: b for b in stack.of_type(BUCKET)}
    assert set(buckets) == {f"example-bank-ame-{s.purpose}-{region}" for s in BUCKETS}
    for name, bucket in buckets.items():
        assert bucket.region == region and bucket.protect
        settings = {r.type.rsplit(":", 1)[-1]: r.inputs for r in stack.resources if r.name == name and r.type != BUCKET}
        rule = settings["BucketServerSideEncryptionConfiguration"]["rules"][0]["applyServerSideEncryptionByDefault"]
        assert rule["sseAlgorithm"] == "aws:kms" and f":kms:{bucket.region}:" in rule["kmsMasterKeyId"]
        access = settings["BucketPublicAccessBlock"]
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        assert all(access[flag] for flag in flags)
        assert settings["BucketVersioning"]["versioningConfiguration"] == {"status": "Enabled"}
        classes = [t["storageClass"] for t in settings["BucketLifecycleConfiguration"]["rules"][0]["transitions"]]
        assert classes[0] == "STANDARD_IA" and classes[1].startswith("GLACIER")
        deny = json.loads(settings["BucketPolicy"]["policy"])["Statement"][0]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_primary_bucket_replicates_to_its_dr_twin_within_15_minutes(prod: Inventory) -> None:
    replications = prod.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert len(replications) == len(BUCKETS)
    for replication in replications:
        (rule,) = replication.inputs["rules"]
        destination: dict[str, Any] = rule["destination"]
        purpose = rule["id"].removesuffix("-to-us-west-2")
        assert destination["bucket"] == f"arn:aws:s3:::example-bank-ame-{purpose}-us-west-2"
        assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
        assert destination["encryptionConfiguration"]["replicaKmsKeyId"].startswith("arn:aws:kms:us-west-2:")
        assert replication.region == "us-east-1"


def test_backups_run_daily_for_7_days_and_weekly_for_5_weeks_copied_to_the_dr_vault(
    prod: Inventory, dr: Inventory
) -> None:
    (plan,) = prod.of_type("aws:backup/plan:Plan")
    rules = {r["ruleName"]: r for r in plan.inputs["rules"]}
    assert {name: r["lifecycle"]["deleteAfter"] for name, r in rules.items()} == {"daily": 7, "weekly": 35}
    (vault,), (dr_vault,) = prod.of_type("aws:backup/vault:Vault"), dr.of_type("aws:backup/vault:Vault")
    assert (vault.region, dr_vault.region) == ("us-east-1", "us-west-2")
    assert {r["targetVaultName"] for r in rules.values()} == {vault.inputs["name"]}
    for rule in rules.values():
        (copy,) = rule["copyActions"]
        # The dr stack's vault, by its checked name: the ARN AWS gives it.
        assert (
            copy["destinationVaultArn"]
            == f"arn:aws:backup:us-west-2:111111111111:backup-vault:{dr_vault.inputs['name']}"
        )
        assert copy["lifecycle"]["deleteAfter"] == rule["lifecycle"]["deleteAfter"]
    (selection,) = prod.of_type("aws:backup/selection:Selection")
    assert sorted(selection.inputs["resources"]) == sorted(
        f"arn:aws:dynamodb:us-east-1:111111111111:table/{t.name}" for t in TABLES
    )


# --- the rest of the review (issue 11, item 5) -------------------------------------------------


def test_what_holds_or_decrypts_data_is_protected_from_pulumi_destroy(stack: Inventory) -> None:
    protected = {(r.type.rsplit(":", 1)[-1], r.name) for r in stack.cloud_resources if r.protect}
    region = region_of(stack)
    assert {("Key", f"ame-data-{region}"), ("Alias", f"ame-data-{region}")} <= protected
    assert {("Vault", "ame-backups"), ("VaultLockConfiguration", "ame-backups")} <= protected
    assert {("Bucket", b.name) for b in stack.of_type(BUCKET)} <= protected
    data = TABLE if stack.stack == "prod" else REPLICA
    assert {(data.rsplit(":", 1)[-1], t.name) for t in stack.of_type(data)} <= protected
    assert len(stack.of_type(data)) == len(TABLES)


def test_each_region_opts_dynamodb_into_backups_advanced_features(stack: Inventory) -> None:
    (settings,) = stack.of_type("aws:backup/regionSettings:RegionSettings")
    assert settings.region == region_of(stack)
    assert settings.inputs["resourceTypeOptInPreference"]["DynamoDB"] is True
    assert settings.inputs["resourceTypeManagementPreference"]["DynamoDB"] is True
    (lock,) = stack.of_type("aws:backup/vaultLockConfiguration:VaultLockConfiguration")
    assert "changeableForDays" not in lock.inputs  # governance: the stack files do not ask for compliance


def test_the_api_gateway_execution_log_group_is_ours_kept_and_encrypted(stack: Inventory) -> None:
    (api,) = stack.of_type("aws:apigateway/restApi:RestApi")
    group = stack.named("aws:cloudwatch/logGroup:LogGroup", "ame-platform-execution")
    assert group.inputs["name"] == f"API-Gateway-Execution-Logs_{api.name}-id/api"
    assert group.inputs["retentionInDays"] == 90
    assert group.inputs["kmsKeyId"].startswith(f"arn:aws:kms:{region_of(stack)}:")


def test_the_api_function_ends_before_api_gateway_does_and_the_worker_keeps_its_timeout(
    stack: Inventory, package: ChalicePackage
) -> None:
    assert function(stack, "app.app").inputs["timeout"] < API_GATEWAY_TIMEOUT_SECONDS == 29
    worker = next(f for f in package.functions if f.sqs_source)
    assert function(stack, "app.assemble_envelopes").inputs["timeout"] == worker.timeout_seconds


def test_queue_visibility_follows_its_consumers_timeout_and_the_worker_cannot_take_the_apis_concurrency(
    stack: Inventory,
) -> None:
    (mapping,) = stack.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": 10}
    consumer = next(
        f for f in stack.of_type(FUNCTION) if mapping.inputs["functionName"].endswith(f":{f.inputs['name']}")
    )
    queues = {q.inputs["name"]: q.inputs for q in stack.of_type(QUEUE)}
    assert queues["ame-envelope-requests"]["visibilityTimeoutSeconds"] == 6 * consumer.inputs["timeout"]
    # read by other areas' systems, not by a function here: SQS's default
    assert "visibilityTimeoutSeconds" not in queues["ame-notifications.fifo"]


def test_alarms_are_named_after_what_they_watch(stack: Inventory) -> None:
    names = [a.inputs["name"] for a in stack.of_type(ALARM) if "name" in a.inputs]
    indexed = [n for n in names if re.search(r"-\d+-", re.sub(r"[a-z]{2}-[a-z]+-\d", "<region>", n))]
    assert not indexed, "an index tells a paged person nothing"
    for declared in stack.of_type(FUNCTION):
        watching = {
            a.inputs["name"]
            for a in alarms(stack, "Errors")
            if a.inputs["dimensions"]["FunctionName"] == declared.inputs["name"]
        }
        assert watching == {f"{declared.inputs['name']}-errors"}
    for spec in QUEUES:
        (dlq,) = [
            a
            for a in alarms(stack, "ApproximateNumberOfMessagesVisible")
            if a.inputs["dimensions"]["QueueName"] == spec.dlq_name
        ]
        assert spec.dlq_name.removeprefix("ame-") in dlq.inputs["name"]


# --- the outputs the drill and the runbooks read ------------------------------------------------


def test_the_sample_outputs_files_are_outputs_the_stack_exports_in_their_shape(stack: Inventory) -> None:
    """So `python -m drill failover --target aws --dry-run` can be tried on them without an account: they
    hold what the drill reads (tests/drill keeps that set), and each is a real output of the stack."""
    sample = json.loads((ROOT / "docs" / "examples" / f"stack-outputs-{stack.stack}.json").read_text())
    assert set(sample) <= set(stack.exports) and "failover_switch" in sample
    assert sample["failover_switch"] == stack.exports["failover_switch"].value
    assert sample["region"] == region_of(stack)
    assert set(sample["table_names"]) <= set(stack.exports["table_names"].value)
    for key, value in sample.items():
        assert type(value) is type(stack.exports[key].value), key


def test_docs_describe_every_stack_output(prod: Inventory, dr: Inventory) -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", (ROOT / "docs" / "deployment.md").read_text(), re.MULTILINE))
    assert set(prod.exports) | set(dr.exports) <= documented


def test_the_local_stack_declares_the_switch_alarm_as_the_dr_stack_does(dr: Inventory) -> None:
    # The alarm is declared twice, in two APIs: Pulumi in AWS, boto3's put_metric_alarm for the local stack.
    from chalicelib.adapters.failover_switch import ensure_switch_alarm

    calls: list[dict[str, object]] = []

    class Recorder:
        def put_metric_alarm(self, **kwargs: object) -> None:
            calls.append(kwargs)

    ensure_switch_alarm(Recorder())
    (local,) = calls
    (deployed,) = [a for a in dr.of_type(ALARM) if a.inputs.get("name") == FAILOVER_SWITCH_ALARM]
    assert local["AlarmName"] == deployed.inputs["name"]
    assert {k: local[k[0].upper() + k[1:]] for k in SWITCH_SETTINGS} == {k: deployed.inputs[k] for k in SWITCH_SETTINGS}
