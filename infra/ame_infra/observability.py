"""Alerts, alarms and a dashboard for one region, matched to the SLOs in the seeds (p95 < 200 ms).

AWS's metrics (API Gateway, Lambda, SQS, DynamoDB) and the app's own, which the functions write as
CloudWatch EMF through Powertools (`chalicelib/telemetry.py`, namespace `AME/Platform`, dimension
`service`). Every alarm names its severity (P1-P4, seed 001) and its runbook section (`alerting.paging`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pulumi
import pulumi_aws as aws

from ame_infra.alerting import paging
from ame_infra.contract import PARTNERS

APP_NAMESPACE = "AME/Platform"
"""Where the app's EMF metrics land (`chalicelib.adapters.powertools.NAMESPACE`)."""
APP_SERVICE = {"service": "ame-platform"}
"""The dimension every app metric carries (`chalicelib.adapters.powertools.SERVICE`)."""

ON_FIRST_OCCURRENCE: dict[str, Any] = {
    "comparison_operator": "GreaterThanThreshold",
    "threshold": 0,
    "evaluation_periods": 1,
    "datapoints_to_alarm": 1,
}
"""For events that should never happen: a Lambda error or throttle, a message in a DLQ."""


@dataclass(frozen=True)
class AlarmTargets:
    """Names of what to watch; plain strings so the alarms never wait on another component."""

    api_name: str
    stage: str
    function_names: Sequence[str]
    queue_names: Sequence[str]
    dlq_names: Sequence[str]
    table_names: Sequence[str]


@dataclass(frozen=True)
class ObservabilityArgs:
    region: str
    peer_region: str
    targets: AlarmTargets
    key_arn: pulumi.Input[str]
    latency_p95_ms: int
    error_rate_threshold: Decimal
    replication_latency_ms: int
    alert_email: str | None = None
    alert_https_endpoint: pulumi.Input[str] | None = None


class Observability(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:observability:Observability", name, None, opts)
        self._name = name
        topic = alert_topic(
            name, args.key_arn, args.alert_email, args.alert_https_endpoint, pulumi.ResourceOptions(parent=self)
        )
        self.topic_arn = topic.arn
        self._api_alarms(args, topic)
        self._function_alarms(args, topic)
        self._queue_alarms(args, topic)
        self._replication_alarms(args, topic)
        self._app_alarms(args, topic)
        self._dashboard(args)
        self.register_outputs({"topic_arn": topic.arn})

    def _alarm(
        self,
        suffix: str,
        topic: aws.sns.Topic,
        severity: str,
        runbook: str,
        description: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
        **metric: Any,
    ) -> aws.cloudwatch.MetricAlarm:
        """`severity` (P1-P4) and `runbook` (an anchor in docs/runbooks.md) lead the description and tag it."""
        name = f"ame-platform-{suffix.removeprefix('ame-')}"
        defaults: dict[str, Any] = {
            "period": 60,
            "evaluation_periods": 5,
            "datapoints_to_alarm": 3,
            "treat_missing_data": "notBreaching",
        }
        return aws.cloudwatch.MetricAlarm(
            name,
            name=name,
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            **paging(severity, runbook, description),
            **{**defaults, **metric},
            opts=opts or pulumi.ResourceOptions(parent=self),
        )

    def _api_alarms(self, args: ObservabilityArgs, topic: aws.sns.Topic) -> None:
        api = {"ApiName": args.targets.api_name, "Stage": args.targets.stage}
        self._alarm(
            "api-5xx-rate",
            topic,
            "P1",
            "api-5xx",
            "Share of API requests answered 5xx (Average of 5XXError is the rate).",
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions=api,
            statistic="Average",
            comparison_operator="GreaterThanThreshold",
            threshold=float(args.error_rate_threshold),
        )
        self._alarm(
            "api-latency-p95",
            topic,
            "P2",
            "api-latency",
            f"API p95 latency above the {args.latency_p95_ms} ms SLO.",
            namespace="AWS/ApiGateway",
            metric_name="Latency",
            dimensions=api,
            extended_statistic="p95",
            comparison_operator="GreaterThanThreshold",
            threshold=args.latency_p95_ms,
        )

    def _function_alarms(self, args: ObservabilityArgs, topic: aws.sns.Topic) -> None:
        for function_name in args.targets.function_names:
            for metric in ("Errors", "Throttles"):
                # `<function>-errors`: the page names the function, not its place in a list.
                self._alarm(
                    f"{function_name.removeprefix('ame-platform-')}-{metric.lower()}",
                    topic,
                    "P2",
                    f"lambda-{metric.lower()}",
                    pulumi.Output.concat("Lambda ", metric, " in ", function_name),
                    namespace="AWS/Lambda",
                    metric_name=metric,
                    dimensions={"FunctionName": function_name},
                    statistic="Sum",
                    **ON_FIRST_OCCURRENCE,
                )

    def _queue_alarms(self, args: ObservabilityArgs, topic: aws.sns.Topic) -> None:
        for dlq in args.targets.dlq_names:
            self._alarm(
                f"{dlq}-not-empty",
                topic,
                "P2",
                "dead-letter-queue",
                f"Messages in {dlq}: an order or event gave up; replay with make replay-dlq.",
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": dlq},
                statistic="Maximum",
                **ON_FIRST_OCCURRENCE,
            )
        for queue in args.targets.queue_names:
            self._alarm(
                f"{queue}-backlog",
                topic,
                "P2",
                "queue-backlog",
                f"Oldest message in {queue} waited more than 5 minutes.",
                namespace="AWS/SQS",
                metric_name="ApproximateAgeOfOldestMessage",
                dimensions={"QueueName": queue},
                statistic="Maximum",
                comparison_operator="GreaterThanThreshold",
                threshold=300,
            )

    def _replication_alarms(self, args: ObservabilityArgs, topic: aws.sns.Topic) -> None:
        """Global tables report latency in the region that wrote, per receiving region."""
        for table in args.targets.table_names:
            self._alarm(
                f"{table}-replication-to-{args.peer_region}",
                topic,
                "P2",
                "replication-lag",
                f"{table} replication {args.region} -> {args.peer_region} lagging (RPO at risk).",
                namespace="AWS/DynamoDB",
                metric_name="ReplicationLatency",
                dimensions={"TableName": table, "ReceivingRegion": args.peer_region},
                statistic="Average",
                comparison_operator="GreaterThanThreshold",
                threshold=args.replication_latency_ms,
            )

    def _app_alarms(self, args: ObservabilityArgs, topic: aws.sns.Topic) -> None:
        """On the app's EMF metrics: decisions failing, partners failing or slow, the outbox and the sweeper."""
        app: dict[str, Any] = {"namespace": APP_NAMESPACE}
        self._alarm(
            "orders-failing",
            topic,
            "P2",
            "orders-failing",
            "More than 5 orders decided FAILED in 5 minutes (OrdersDecided verdict=FAILED): clients get no envelope.",
            metric_name="OrdersDecided",
            dimensions={**APP_SERVICE, "verdict": "FAILED"},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator="GreaterThanThreshold",
            threshold=5,
            **app,
        )
        for partner in PARTNERS:
            self._alarm(
                f"partner-{partner}-circuit-open",
                topic,
                "P2",
                "partner-circuit-open",
                f"The {partner} circuit breaker opened (BreakerState state=open): calls fail fast until it recovers.",
                metric_name="BreakerState",
                dimensions={**APP_SERVICE, "partner": partner, "state": "open"},
                statistic="Sum",
                comparison_operator="GreaterThanThreshold",
                threshold=0,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                **app,
            )
            self._alarm(
                f"partner-{partner}-errors",
                topic,
                "P3",
                "partner-errors",
                f"{partner} failing: more than 20 errors a minute (PartnerErrors: timeouts, 5xx, connection).",
                metric_name="PartnerErrors",
                dimensions={**APP_SERVICE, "partner": partner},
                statistic="Sum",
                comparison_operator="GreaterThanThreshold",
                threshold=20,
                **app,
            )
            self._alarm(
                f"partner-{partner}-latency-p95",
                topic,
                "P3",
                "partner-latency",
                f"{partner} p95 latency above 1 s (PartnerLatency): orders take longer, the worker holds threads.",
                metric_name="PartnerLatency",
                dimensions={**APP_SERVICE, "partner": partner},
                extended_statistic="p95",
                comparison_operator="GreaterThanThreshold",
                threshold=1000,
                **app,
            )
        self._alarm(
            "outbox-lag",
            topic,
            "P2",
            "outbox-lag",
            "Results reach the areas more than 60 s after the decision (OutboxLag what=result, p95).",
            metric_name="OutboxLag",
            dimensions={**APP_SERVICE, "what": "result"},
            extended_statistic="p95",
            comparison_operator="GreaterThanThreshold",
            threshold=60_000,
            **app,
        )
        self._alarm(
            "sweeper-rescues",
            topic,
            "P3",
            "sweeper-rescues",
            "The sweeper re-queued more than 25 stranded orders in 5 minutes (SweeperRescues): messages are lost.",
            metric_name="SweeperRescues",
            dimensions=APP_SERVICE,
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator="GreaterThanThreshold",
            threshold=25,
            **app,
        )

    def _dashboard(self, args: ObservabilityArgs) -> None:
        t = args.targets
        api = ["ApiName", t.api_name, "Stage", t.stage]
        widgets = [
            _widget("API requests and 5xx", [["AWS/ApiGateway", "Count", *api], [".", "5XXError", *api]], "Sum"),
            _widget("API latency p95 (ms)", [["AWS/ApiGateway", "Latency", *api]], "p95"),
            _widget("Lambda errors", [["AWS/Lambda", "Errors", "FunctionName", f] for f in t.function_names], "Sum"),
            _widget(
                "Lambda throttles", [["AWS/Lambda", "Throttles", "FunctionName", f] for f in t.function_names], "Sum"
            ),
            _widget(
                "Queue depth (incl. DLQs)",
                [
                    ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]
                    for q in [*t.queue_names, *t.dlq_names]
                ],
                "Maximum",
            ),
            _widget(
                f"Replication latency to {args.peer_region} (ms)",
                [
                    ["AWS/DynamoDB", "ReplicationLatency", "TableName", n, "ReceivingRegion", args.peer_region]
                    for n in t.table_names
                ],
                "Average",
            ),
            *_app_widgets(),
        ]
        for index, widget in enumerate(widgets):
            widget.update(x=(index % 2) * 12, y=(index // 2) * 6, width=12, height=6)
            widget["properties"]["region"] = args.region
        # Dashboards are global to the account: without the region the second stack would take the first's.
        aws.cloudwatch.Dashboard(
            self._name,
            dashboard_name=dashboard_name(args.region),
            dashboard_body=pulumi.Output.json_dumps({"widgets": widgets}),
            opts=pulumi.ResourceOptions(parent=self),
        )


def dashboard_name(region: str) -> str:
    return f"ame-platform-{region}"


def alert_topic(
    name: str,
    key_arn: pulumi.Input[str],
    email: str | None,
    https_endpoint: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions,
) -> aws.sns.Topic:
    """The on-call topic: e-mail and, when configured, a pager's HTTPS endpoint."""
    topic = aws.sns.Topic(name, name=name, kms_master_key_id=key_arn, opts=opts)
    if email:
        aws.sns.TopicSubscription(f"{name}-email", topic=topic.arn, protocol="email", endpoint=email, opts=opts)
    if https_endpoint is not None:
        aws.sns.TopicSubscription(
            f"{name}-pager", topic=topic.arn, protocol="https", endpoint=https_endpoint, opts=opts
        )
    return topic


def _app_widgets() -> list[dict[str, Any]]:
    """The app's own metrics (EMF, `AME/Platform`), by the dimensions the alarms watch."""
    ns, service = APP_NAMESPACE, ["service", APP_SERVICE["service"]]
    partners = list(PARTNERS)
    return [
        _widget(
            "Orders accepted and decided",
            [
                [ns, "OrdersAccepted", *service],
                *[[ns, "OrdersDecided", *service, "verdict", v] for v in ("QUORUM_MET", "QUORUM_NOT_MET", "FAILED")],
            ],
            "Sum",
        ),
        _widget(
            "Credit decisions by outcome",
            [[ns, "CreditDecisions", *service, "outcome", o] for o in ("APPROVED", "REVIEW", "REFUSED")],
            "Sum",
        ),
        _widget("Partner latency p95 (ms)", [[ns, "PartnerLatency", *service, "partner", p] for p in partners], "p95"),
        _widget("Partner errors", [[ns, "PartnerErrors", *service, "partner", p] for p in partners], "Sum"),
        _widget(
            "Circuit breakers opened",
            [[ns, "BreakerState", *service, "partner", p, "state", "open"] for p in partners],
            "Sum",
        ),
        _widget(
            "Outbox lag p95 (ms) and sweeper rescues",
            [
                *[[ns, "OutboxLag", *service, "what", w] for w in ("result", "notices")],
                [ns, "SweeperRescues", *service, {"stat": "Sum", "yAxis": "right"}],
            ],
            "p95",
        ),
    ]


def _widget(title: str, metrics: list[list[Any]], stat: str) -> dict[str, Any]:
    return {"type": "metric", "properties": {"title": title, "metrics": metrics, "stat": stat, "period": 60}}
