"""One stack of ame-platform: `pulumi up --stack prod` (primary) or `--stack dr` (warm standby).

Only wiring lives here; each component's reasoning lives in its module under `ame_infra/`.
"""

from __future__ import annotations

import hashlib
import hmac

import pulumi
import pulumi_aws as aws

from ame_infra import peers
from ame_infra.api import STAGE, RegionalApi, RegionalApiArgs
from ame_infra.audit import AuditTrail, AuditTrailArgs
from ame_infra.backups import BackupPlan, BackupPlanArgs, BackupVault, BackupVaultArgs
from ame_infra.buckets import (
    AUDIT,
    BucketReplication,
    BucketReplicationArgs,
    RegionalBuckets,
    RegionalBucketsArgs,
    bucket_name,
)
from ame_infra.chalice_package import load_package
from ame_infra.config import StackSettings
from ame_infra.contract import (
    AUDIT_PREFIX,
    CLAIM_CHECK_PURPOSE,
    QUEUES,
    RESOURCE_SERVER,
    TABLES,
    app_secret_parameter,
    failover_switch,
    lambda_environment,
    takeover_environment,
)
from ame_infra.failover import (
    ROUTE53_METRICS_REGION,
    Failover,
    FailoverArgs,
    FailoverSwitch,
    FailoverSwitchArgs,
    HealthCheckAlarms,
    HealthCheckAlarmsArgs,
)
from ame_infra.functions import AppFunctions, AppFunctionsArgs, function_name
from ame_infra.identity import AreaIdentity, AreaIdentityArgs
from ame_infra.keys import RegionalKey, RegionalKeyArgs
from ame_infra.lake import Lake, LakeArgs, LakeSettings
from ame_infra.limits import consumer_timeouts
from ame_infra.observability import AlarmTargets, Observability, ObservabilityArgs, alert_topic
from ame_infra.queues import MessageQueues, MessageQueuesArgs
from ame_infra.tables import GlobalTables, GlobalTablesArgs, TableReplicas, TableReplicasArgs

settings = StackSettings.from_pulumi()
package = load_package(settings.chalice_package_dir)
# Each stack owns its own region: one provider, so an update of either never needs the other region.
# (Prod adds us-east-1 for Route 53's metrics only if it is not already there.)
home = aws.Provider(f"aws-{settings.region}", region=settings.region, default_tags={"tags": settings.tags})
in_home = pulumi.ResourceOptions(provider=home)
account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(provider=home)).account_id
primary, dr = settings.primary_region, settings.dr_region


def key(
    purpose: str, alias: str, provider: aws.Provider, region: str, protect: bool = False, **grants: bool
) -> RegionalKey:
    return RegionalKey(
        f"ame-{purpose}-{region}",
        RegionalKeyArgs(alias, f"ame-platform {purpose} ({region})", region, account_id, **grants),
        opts=pulumi.ResourceOptions(provider=provider, protect=protect),
    )


# --- this region's data: its key, tables or replicas, buckets, backup vault ------------------------
# Deletion of any of these loses data or the means to read it: `protect` refuses it in `pulumi destroy`.
data_key = key("data", peers.DATA_KEY_ALIAS.removeprefix("alias/"), home, settings.region, protect=True)
buckets = RegionalBuckets(
    "ame-buckets",
    RegionalBucketsArgs(settings.bucket_prefix, settings.region, data_key.arn, settings.audit_retention_days),
    opts=in_home,
)
vault = BackupVault("ame-backups", BackupVaultArgs(settings.region, data_key.arn, settings.backup_vault_lock), in_home)
if settings.is_primary:
    tables = GlobalTables("ame-tables", GlobalTablesArgs(TABLES, data_key.arn), opts=in_home)
    # The dr stack's buckets, key alias and vault, by name: dr is deployed first (docs/deployment.md).
    BucketReplication(
        "ame-buckets",
        BucketReplicationArgs(settings.bucket_prefix, buckets, data_key.arn, dr, account_id),
        opts=in_home,
    )
    BackupPlan(
        "ame-backups",
        BackupPlanArgs(vault, list(tables.arns.values()), peers.backup_vault_arn(dr, account_id)),
        opts=in_home,
    )
    pulumi.export("table_arns", tables.arns)
elif settings.table_replicas:
    replicas = TableReplicas("ame-tables", TableReplicasArgs(TABLES, primary, account_id, data_key.arn), in_home)
    pulumi.export("table_arns", replicas.arns)
else:
    pulumi.log.warn(
        "ame-platform:tableReplicas is false: no DynamoDB replicas in this region yet. Set it to true and "
        "`pulumi up` again once prod has created its tables (docs/deployment.md, Deploy)"
    )
pulumi.export("bucket_names", buckets.names)
pulumi.export("backup_vault", vault.name)
pulumi.export("backup_vaults", {primary: peers.backup_vault_name(primary), dr: peers.backup_vault_name(dr)})

compute_key = key(
    "compute", "ame-compute", home, settings.region, allow_cloudwatch_logs=True, allow_cloudwatch_alarms=True
)
identity = AreaIdentity(
    "ame-platform",
    AreaIdentityArgs(
        region=settings.region,
        areas=settings.areas,
        domain_prefix=settings.auth_domain_prefix,
        peer_token_issuer=settings.peer_token_issuer,
        peer_area_client_ids=settings.peer_area_client_ids,
    ),
    opts=in_home,
)
if settings.peer_token_issuer is None:
    pulumi.log.warn(
        "ame-platform:peerTokenIssuer is not set: tokens the areas got from the "
        f"{settings.peer_region} pool are refused here (401) until they fetch one from this region's "
        "(docs/deployment.md, Identity)"
    )
queues = MessageQueues(
    "ame-queues",
    MessageQueuesArgs(QUEUES, compute_key.arn, settings.max_receive_count, consumer_timeouts(package)),
    opts=in_home,
)
functions = AppFunctions(
    "ame-functions",
    AppFunctionsArgs(
        package=package,
        region=settings.region,
        account_id=account_id,
        environment=dict(
            lambda_environment(
                settings.role,
                settings.region,
                settings.api_domain,
                settings.max_receive_count,
                settings.partner_urls,
                failover_switch_region=dr,
                claim_check_bucket=bucket_name(settings.bucket_prefix, CLAIM_CHECK_PURPOSE, settings.region),
            )
        ),
        queues=queues.by_key,
        key_arn=compute_key.arn,
        claim_check_bucket_arn=buckets.by_purpose[CLAIM_CHECK_PURPOSE].bucket.arn,
        data_key_arn=data_key.arn,
        log_retention_days=settings.log_retention_days,
        app_secret=settings.required_app_secret,
        caller_environment=dict(identity.environment),
        role=settings.role,
        takeover_environment=dict(takeover_environment(settings.peer_health_url)),
        worker_max_concurrency=settings.worker_max_concurrency,
    ),
    opts=in_home,
)
if not settings.is_primary and settings.peer_health_url is None:
    pulumi.log.warn(
        "ame-platform:peerHealthUrl is not set: the standby never takes over by itself, so Route 53 fails back "
        "on its own when the primary's check passes again (set it to prod's `regional_api_url` output + "
        "/v1/health; docs/deployment.md, Deploy)"
    )
api_function = functions.by_logical_id[package.api_function.logical_id]
api = RegionalApi(
    "ame-platform",
    RegionalApiArgs(
        package=package,
        api_function=api_function.function,
        region=settings.region,
        domain_name=settings.api_domain,
        certificate_arn=settings.certificate_arn,
        key_arn=compute_key.arn,
        log_retention_days=settings.log_retention_days,
        waf_requests_per_5_minutes=settings.waf_requests_per_5_minutes,
    ),
    opts=in_home,
)
alerts = Observability(
    "ame-platform-alerts",
    ObservabilityArgs(
        region=settings.region,
        peer_region=settings.peer_region,
        targets=AlarmTargets(
            api_name=api.name,
            stage=STAGE,
            function_names=[function_name(f) for f in package.functions],
            queue_names=[q.name for q in QUEUES],
            dlq_names=[q.dlq_name for q in QUEUES],
            table_names=[t.name for t in TABLES],
        ),
        key_arn=compute_key.arn,
        latency_p95_ms=settings.latency_p95_ms,
        error_rate_threshold=settings.error_rate_threshold,
        replication_latency_ms=settings.replication_latency_ms,
        alert_email=settings.alert_email,
        alert_https_endpoint=settings.alert_https_endpoint,
    ),
    opts=in_home,
)
if not settings.is_primary:
    # The failover switch: in the standby region, so it can be thrown while the primary region is down.
    FailoverSwitch("ame-failover-switch", FailoverSwitchArgs(alerts.topic_arn), opts=in_home)
failover = Failover(
    "ame-failover",
    FailoverArgs(
        role=settings.role,
        region=settings.region,
        hosted_zone_id=settings.hosted_zone_id,
        api_domain=settings.api_domain,
        invoke_host=api.invoke_host,
        regional_domain_name=api.regional_domain_name,
        regional_zone_id=api.regional_zone_id,
        switch_region=dr,
    ),
    opts=in_home,
)
if settings.is_primary:
    # Route 53's metrics exist only in us-east-1: prod keeps the alarms on both health checks there, where
    # losing us-west-2 does not take them away and the dr stack needs nothing in us-east-1.
    if settings.region == ROUTE53_METRICS_REGION:
        metrics_opts, metrics_topic_arn = in_home, alerts.topic_arn
    else:
        metrics_provider = aws.Provider(
            f"aws-{ROUTE53_METRICS_REGION}", region=ROUTE53_METRICS_REGION, default_tags={"tags": settings.tags}
        )
        metrics_opts = pulumi.ResourceOptions(provider=metrics_provider)
        metrics_key = key(
            "alerts", "ame-alerts", metrics_provider, ROUTE53_METRICS_REGION, allow_cloudwatch_alarms=True
        )
        metrics_topic_arn = alert_topic(
            f"ame-platform-alerts-{ROUTE53_METRICS_REGION}",
            metrics_key.arn,
            settings.alert_email,
            settings.alert_https_endpoint,
            metrics_opts,
        ).arn
    HealthCheckAlarms(
        "ame-route53-alarms",
        HealthCheckAlarmsArgs(
            primary_region=settings.region,
            primary_health_check_id=failover.record_health_check_id,
            standby_region=dr,
            standby_health_check_id=settings.standby_health_check_id,
            alarm_topic_arn=metrics_topic_arn,
        ),
        opts=metrics_opts,
    )
    if settings.standby_health_check_id is None:
        pulumi.log.warn(
            "ame-platform:standbyHealthCheckId is not set: nothing alarms when Route 53 sees the standby "
            "unhealthy (set it to the dr stack's `health_check_id` output; docs/deployment.md, Deploy)"
        )

# --- the data lake: where the tables are written (the primary), unless lakeEnabled says otherwise (lake.py) ---
lake_settings = LakeSettings.from_config(pulumi.Config(), settings.is_primary)
if lake_settings.enabled:
    lake = Lake(
        "ame-lake",
        LakeArgs(
            settings=lake_settings,
            region=settings.region,
            account_id=account_id,
            raw_bucket=buckets.by_purpose["lake-raw"].bucket,
            processed_bucket=buckets.by_purpose["lake-processed"].bucket,
            curated_bucket=buckets.by_purpose["lake-curated"].bucket,
            data_key_arn=data_key.arn,
            compute_key_arn=compute_key.arn,
            alarm_topic_arn=alerts.topic_arn,
            app_secret=settings.required_app_secret,
            log_retention_days=settings.log_retention_days,
        ),
        opts=in_home,
    )
    pulumi.export("lake_state_machine_arn", lake.state_machine_arn)
    pulumi.export("lake_glue_database", lake.database)
    pulumi.export("lake_athena_workgroup", lake.workgroup)
    pulumi.export("lake_analyst_policy_arn", lake.analyst_policy.arn)

audit_bucket = bucket_name(settings.bucket_prefix, AUDIT.purpose, settings.region)
audit = AuditTrail(
    "ame-audit",
    AuditTrailArgs(
        region=settings.region,
        account_id=account_id,
        source_log_group=api_function.log_group.name,
        bucket_name=audit_bucket,
        bucket_key_arn=data_key.arn,
        stream_key_arn=compute_key.arn,
        log_retention_days=settings.log_retention_days,
        alarm_topic_arn=alerts.topic_arn,
    ),
    opts=pulumi.ResourceOptions(provider=home, depends_on=[buckets]),
)


def fingerprint(secret: str) -> str:
    """Compare across stacks (`pulumi stack output app_secret_fingerprint`): equal secrets, equal prints.
    An HMAC under its own purpose label, like the app's keys (`chalicelib.keys.derive_key`)."""
    return hmac.new(secret.encode(), b"ame-platform/fingerprint", hashlib.sha256).hexdigest()[:16]


pulumi.export("role", settings.role)
pulumi.export("region", settings.region)
pulumi.export("api_url", f"https://{settings.api_domain}")
pulumi.export("regional_api_url", pulumi.Output.concat("https://", api.invoke_host, "/", STAGE))
pulumi.export("health_check_id", failover.health_check_id)
pulumi.export("record_health_check_id", failover.record_health_check_id)
pulumi.export("failover_switch", failover_switch(dr))
pulumi.export("queue_urls", {k: q.queue.url for k, q in queues.by_key.items()})
pulumi.export("function_names", {lid: d.function.name for lid, d in functions.by_logical_id.items()})
pulumi.export("table_names", {t.key: t.name for t in TABLES})
pulumi.export("alert_topic_arn", alerts.topic_arn)
pulumi.export("token_url", identity.token_url)
pulumi.export("token_issuer", identity.issuer)
pulumi.export("user_pool_id", identity.user_pool_id)
pulumi.export("resource_server", RESOURCE_SERVER)
# Area id -> this region's client id: the peer stack's `peerAreaClientIds`. Secrets are never exported.
pulumi.export("area_client_ids", identity.client_ids)
pulumi.export("app_secret_parameter", app_secret_parameter(settings.region))
pulumi.export("app_secret_fingerprint", pulumi.Output.unsecret(settings.required_app_secret.apply(fingerprint)))
# Where the audit-report command reads: this region's records, and both regions' buckets (the DR
# bucket also holds the primary's, replicated; dedupe on request_id). Each stack owns its own.
pulumi.export("audit_bucket", audit_bucket)
pulumi.export("audit_prefix", AUDIT_PREFIX)
pulumi.export(
    "audit_buckets",
    {
        region: bucket_name(settings.bucket_prefix, AUDIT.purpose, region)
        for region in (settings.region, settings.peer_region)
    },
)
