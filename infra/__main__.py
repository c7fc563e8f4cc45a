"""One stack of ame-platform: `pulumi up --stack prod` (primary) or `--stack dr` (warm standby).

Only wiring lives here; each component's reasoning lives in its module under `ame_infra/`.
"""

from __future__ import annotations

import hashlib
import hmac

import pulumi
import pulumi_aws as aws

from ame_infra.api import STAGE, RegionalApi, RegionalApiArgs
from ame_infra.audit import AuditTrail, AuditTrailArgs
from ame_infra.backups import CrossRegionBackups, CrossRegionBackupsArgs
from ame_infra.buckets import AUDIT, RegionalSide, ReplicatedBuckets, ReplicatedBucketsArgs, bucket_name
from ame_infra.chalice_package import load_package
from ame_infra.config import StackSettings
from ame_infra.contract import AUDIT_PREFIX, QUEUES, RESOURCE_SERVER, TABLES, app_secret_parameter, lambda_environment
from ame_infra.failover import Failover, FailoverArgs
from ame_infra.functions import AppFunctions, AppFunctionsArgs
from ame_infra.identity import AreaIdentity, AreaIdentityArgs
from ame_infra.keys import RegionalKey, RegionalKeyArgs
from ame_infra.observability import ROUTE53_METRICS_REGION, AlarmTargets, Observability, ObservabilityArgs
from ame_infra.queues import MessageQueues, MessageQueuesArgs
from ame_infra.tables import GlobalTables, GlobalTablesArgs

settings = StackSettings.from_pulumi()
package = load_package(settings.chalice_package_dir)
providers = {
    region: aws.Provider(f"aws-{region}", region=region, default_tags={"tags": settings.tags})
    for region in dict.fromkeys([settings.region, settings.peer_region, ROUTE53_METRICS_REGION])
}
home = providers[settings.region]
in_home = pulumi.ResourceOptions(provider=home)
account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(provider=home)).account_id


def key(purpose: str, region: str, **grants: bool) -> RegionalKey:
    return RegionalKey(
        f"ame-{purpose}-{region}",
        RegionalKeyArgs(f"ame-{purpose}", f"ame-platform {purpose} ({region})", region, account_id, **grants),
        opts=pulumi.ResourceOptions(provider=providers[region]),
    )


if settings.is_primary:
    primary, dr = settings.primary_region, settings.dr_region
    data_keys = {region: key("data", region) for region in (primary, dr)}
    tables = GlobalTables(
        "ame-tables",
        GlobalTablesArgs(TABLES, dr, data_keys[primary].arn, data_keys[dr].arn),
        opts=pulumi.ResourceOptions(provider=providers[primary]),
    )
    buckets = ReplicatedBuckets(
        "ame-buckets",
        ReplicatedBucketsArgs(
            settings.bucket_prefix,
            primary=RegionalSide(primary, data_keys[primary].arn, providers[primary]),
            dr=RegionalSide(dr, data_keys[dr].arn, providers[dr]),
            object_lock_days=settings.audit_retention_days,
        ),
    )
    backups = CrossRegionBackups(
        "ame-backups",
        CrossRegionBackupsArgs(
            list(tables.arns.values()), data_keys[primary].arn, data_keys[dr].arn, providers[primary], providers[dr]
        ),
    )
    pulumi.export("table_arns", tables.arns)
    pulumi.export("bucket_names", buckets.names)
    pulumi.export("backup_vaults", {"primary": backups.vault_name, "dr": backups.dr_vault_name})

compute_key = key("compute", settings.region, allow_cloudwatch_logs=True, allow_cloudwatch_alarms=True)
# The data key of this region encrypts its audit bucket; the DR stack finds the one prod keeps here.
home_data_key_arn: pulumi.Input[str] = (
    data_keys[settings.region].arn
    if settings.is_primary
    else aws.kms.get_key_output(key_id="alias/ame-data", opts=pulumi.InvokeOptions(provider=home)).arn
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
    MessageQueuesArgs(QUEUES, compute_key.arn, settings.max_receive_count, package.api_function.timeout_seconds),
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
                settings.role, settings.region, settings.api_domain, settings.max_receive_count, settings.partner_urls
            )
        ),
        queues=queues.by_key,
        key_arn=compute_key.arn,
        log_retention_days=settings.log_retention_days,
        app_secret=settings.required_app_secret,
        caller_environment=dict(identity.environment),
    ),
    opts=in_home,
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
    ),
    opts=in_home,
)
needs_metrics_region = settings.region != ROUTE53_METRICS_REGION
alerts = Observability(
    "ame-platform-alerts",
    ObservabilityArgs(
        region=settings.region,
        peer_region=settings.peer_region,
        targets=AlarmTargets(
            api_name=api.name,
            stage=STAGE,
            function_names=[d.function.name for d in functions.by_logical_id.values()],
            queue_names=[q.name for q in QUEUES],
            dlq_names=[q.dlq_name for q in QUEUES],
            table_names=[t.name for t in TABLES],
            health_check_id=failover.health_check_id,
        ),
        key_arn=compute_key.arn,
        latency_p95_ms=settings.latency_p95_ms,
        error_rate_threshold=settings.error_rate_threshold,
        replication_latency_ms=settings.replication_latency_ms,
        alert_email=settings.alert_email,
        alert_https_endpoint=settings.alert_https_endpoint,
        metrics_region_provider=providers[ROUTE53_METRICS_REGION] if needs_metrics_region else None,
        metrics_region_key_arn=key("alerts", ROUTE53_METRICS_REGION, allow_cloudwatch_alarms=True).arn
        if needs_metrics_region
        else None,
    ),
    opts=in_home,
)

audit_bucket = bucket_name(settings.bucket_prefix, AUDIT.purpose, settings.region)
audit = AuditTrail(
    "ame-audit",
    AuditTrailArgs(
        region=settings.region,
        account_id=account_id,
        source_log_group=api_function.log_group.name,
        bucket_name=audit_bucket,
        bucket_key_arn=home_data_key_arn,
        stream_key_arn=compute_key.arn,
        log_retention_days=settings.log_retention_days,
        alarm_topic_arn=alerts.topic_arn,
    ),
    opts=pulumi.ResourceOptions(provider=home, depends_on=[buckets] if settings.is_primary else []),
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
# bucket also holds the primary's, replicated; dedupe on request_id).
pulumi.export("audit_bucket", audit_bucket)
pulumi.export("audit_prefix", AUDIT_PREFIX)
pulumi.export(
    "audit_buckets",
    {
        region: bucket_name(settings.bucket_prefix, AUDIT.purpose, region)
        for region in (settings.region, settings.peer_region)
    },
)
