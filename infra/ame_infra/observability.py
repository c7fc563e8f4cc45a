"""Alerts, alarms and a dashboard for one region, matched to the SLOs in the seeds (p95 < 200 ms)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pulumi
import pulumi_aws as aws

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
        self._dashboard(args)
        self.register_outputs({"topic_arn": topic.arn})

    def _alarm(
        self, suffix: str, topic: aws.sns.Topic, opts: pulumi.ResourceOptions | None = None, **metric: Any
    ) -> aws.cloudwatch.MetricAlarm:
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
            **{**defaults, **metric},
            opts=opts or pulumi.ResourceOptions(parent=self),
        )

    def _api_alarms(self, args: ObservabilityArgs, topic: aws.sns.Topic) -> None:
        api = {"ApiName": args.targets.api_name, "Stage": args.targets.stage}
        self._alarm(
            "api-5xx-rate",
            topic,
            alarm_description="Share of API requests answered 5xx (Average of 5XXError is the rate).",
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
            alarm_description=f"API p95 latency above the {args.latency_p95_ms} ms SLO.",
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
                    alarm_description=pulumi.Output.concat("Lambda ", metric, " in ", function_name),
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
                alarm_description=f"Messages in {dlq}: an order or event gave up; replay with make replay-dlq.",
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
                alarm_description=f"Oldest message in {queue} waited more than 5 minutes.",
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
                alarm_description=f"{table} replication {args.region} -> {args.peer_region} lagging (RPO at risk).",
                namespace="AWS/DynamoDB",
                metric_name="ReplicationLatency",
                dimensions={"TableName": table, "ReceivingRegion": args.peer_region},
                statistic="Average",
                comparison_operator="GreaterThanThreshold",
                threshold=args.replication_latency_ms,
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


def _widget(title: str, metrics: list[list[Any]], stat: str) -> dict[str, Any]:
    return {"type": "metric", "properties": {"title": title, "metrics": metrics, "stat": stat, "period": 60}}
