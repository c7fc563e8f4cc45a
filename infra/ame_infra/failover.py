"""Route 53 failover for the API name, decided from the standby side (docs/deployment.md, Failover).

The prod stack writes the PRIMARY record, the dr stack the SECONDARY. The PRIMARY record's health
check is CALCULATED: healthy only while both the primary's HTTPS check on `/api/v1/health` and a
CLOUDWATCH_METRIC check on the failover switch pass. The switch is an alarm the dr stack keeps in
the dr region (`contract.FAILOVER_SWITCH_ALARM`): the dr sweeper (when the primary stops answering,
`chalicelib.takeover`), operators and the drill set it from there, so a failover needs nothing from
the impaired region, and Route 53 evaluates health checks in its data
plane, which needs no control-plane (us-east-1) call. The switch alarm treats missing data as
"ignore": its last state holds, so the primary comes back only when someone sets it back (failback
is an operator's step, never automatic).

Route 53 checks that the alarm exists when the metric health check is created: the dr stack is
deployed before prod (docs/deployment.md, Deploy).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ame_infra.alerting import paging
from ame_infra.contract import FAILOVER_SWITCH_ALARM, FAILOVER_SWITCH_METRIC, FAILOVER_SWITCH_NAMESPACE

HEALTH_PATH = "/api/v1/health"
REQUEST_INTERVAL_SECONDS = 10
FAILURE_THRESHOLD = 3
"""Three failed 10-second checks: detection in about 30 s, inside the 60 s RTO objective."""
ROUTE53_METRICS_REGION = "us-east-1"
"""Route 53 publishes health-check metrics only here, whichever region the stack serves."""


@dataclass(frozen=True)
class FailoverArgs:
    role: str
    region: str
    hosted_zone_id: str
    api_domain: str
    invoke_host: pulumi.Input[str]
    regional_domain_name: pulumi.Input[str]
    regional_zone_id: pulumi.Input[str]
    switch_region: str
    """Where the failover switch alarm lives (the dr region); read by the PRIMARY record only."""


class Failover(pulumi.ComponentResource):
    health_check_id: pulumi.Output[str]
    """The HTTPS check of this region's endpoint (what `route53:GetHealthCheckStatus` can report)."""
    record_health_check_id: pulumi.Output[str]
    """What the record follows: the CALCULATED check in prod, the HTTPS check in dr."""
    record: aws.route53.Record

    def __init__(self, name: str, args: FailoverArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:dns:Failover", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        primary = args.role == "primary"
        # The execute-api host, not the custom name: the check must see this region, not whatever DNS answers.
        https = aws.route53.HealthCheck(
            name,
            type="HTTPS",
            fqdn=args.invoke_host,
            port=443,
            resource_path=HEALTH_PATH,
            request_interval=REQUEST_INTERVAL_SECONDS,
            failure_threshold=FAILURE_THRESHOLD,
            measure_latency=True,
            tags={"Name": f"ame-platform-{args.region}"},
            opts=child,
        )
        followed = https
        if primary:
            switch = aws.route53.HealthCheck(
                f"{name}-switch",
                type="CLOUDWATCH_METRIC",
                cloudwatch_alarm_name=FAILOVER_SWITCH_ALARM,
                cloudwatch_alarm_region=args.switch_region,
                # No data yet (a fresh alarm) or CloudWatch unreachable from Route 53: keep serving.
                insufficient_data_health_status="Healthy",
                tags={"Name": f"ame-platform-switch-{args.switch_region}"},
                opts=child,
            )
            followed = aws.route53.HealthCheck(
                f"{name}-primary",
                type="CALCULATED",
                child_healthchecks=[https.id, switch.id],
                child_health_threshold=2,  # both: the endpoint answers AND the switch says in service
                tags={"Name": f"ame-platform-primary-{args.region}"},
                opts=child,
            )
        self.record = aws.route53.Record(
            name,
            zone_id=args.hosted_zone_id,
            name=args.api_domain,
            type="A",
            set_identifier=f"{args.role}-{args.region}",
            failover_routing_policies=[{"type": "PRIMARY" if primary else "SECONDARY"}],
            health_check_id=followed.id,
            aliases=[
                {
                    "name": args.regional_domain_name,
                    "zone_id": args.regional_zone_id,
                    "evaluate_target_health": True,
                }
            ],
            opts=child,
        )
        self.health_check_id = https.id
        self.record_health_check_id = followed.id
        self.register_outputs({"health_check_id": https.id, "record_health_check_id": followed.id})


@dataclass(frozen=True)
class FailoverSwitchArgs:
    alarm_topic_arn: pulumi.Input[str]


class FailoverSwitch(pulumi.ComponentResource):
    """The switch itself, in the dr region, owned by the dr stack (`contract.failover_switch`)."""

    alarm: aws.cloudwatch.MetricAlarm

    def __init__(self, name: str, args: FailoverSwitchArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:dns:FailoverSwitch", name, None, opts)
        self.alarm = aws.cloudwatch.MetricAlarm(
            name,
            name=FAILOVER_SWITCH_ALARM,
            **paging(
                "P1",
                "failover-switch",
                "ALARM: the primary region is out of service (Route 53 answers with the standby; the primary is "
                "fenced). Set by operators or the drill from the dr region; only they set it back (failback).",
            ),
            namespace=FAILOVER_SWITCH_NAMESPACE,
            metric_name=FAILOVER_SWITCH_METRIC,
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            # No data for hours is normal; the last state holds, so nothing fails back on its own.
            treat_missing_data="ignore",
            # On-call hears every flip, whoever made it.
            alarm_actions=[args.alarm_topic_arn],
            ok_actions=[args.alarm_topic_arn],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"alarm": self.alarm.name})


@dataclass(frozen=True)
class HealthCheckAlarmsArgs:
    """Alarms on Route 53's health-check metrics, which exist only in `ROUTE53_METRICS_REGION`."""

    primary_region: str
    primary_health_check_id: pulumi.Input[str]
    standby_region: str
    standby_health_check_id: str | None
    alarm_topic_arn: pulumi.Input[str]


class HealthCheckAlarms(pulumi.ComponentResource):
    """Owned by prod, in us-east-1: losing us-west-2 does not take them away, and the dr stack needs
    nothing in us-east-1. Names say what they watch; each region's Route 53 status has one."""

    def __init__(self, name: str, args: HealthCheckAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:dns:HealthCheckAlarms", name, None, opts)
        watched = [("primary", args.primary_region, args.primary_health_check_id, "DNS is failing over")]
        if args.standby_health_check_id:
            watched.append(
                ("standby", args.standby_region, args.standby_health_check_id, "a failover would find no standby")
            )
        self.alarms: list[aws.cloudwatch.MetricAlarm] = []
        for role, region, check_id, meaning in watched:
            alarm_name = f"ame-platform-route53-{role}-{region}-unhealthy"
            alarm = aws.cloudwatch.MetricAlarm(
                alarm_name,
                name=alarm_name,
                **paging("P1", "region-unhealthy", f"Route 53 sees the {role} ({region}) unhealthy: {meaning}."),
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions={"HealthCheckId": check_id},
                statistic="Minimum",
                period=60,
                comparison_operator="LessThanThreshold",
                threshold=1,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                treat_missing_data="breaching",
                alarm_actions=[args.alarm_topic_arn],
                ok_actions=[args.alarm_topic_arn],
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.alarms.append(alarm)
        self.register_outputs({})
