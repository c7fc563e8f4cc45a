"""The failover switch and the deep health against the local AWS endpoint (moto): the alarm as
provisioned, set and cleared by the one writer, read by the primary's fence; DynamoDB and SQS probed."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import boto3
import pytest

from chalicelib.adapters.dynamodb import bind_models, create_tables
from chalicelib.adapters.failover_switch import (
    CloudWatchFailoverSwitch,
    ensure_switch_alarm,
    set_primary_out_of_service,
)
from chalicelib.adapters.health_probes import PROBE_CONFIG, DynamoDbReachable, SqsReachable
from chalicelib.bootstrap import build_container
from chalicelib.failover import Fence
from chalicelib.health import DeepHealth
from chalicelib.settings import FAILOVER_SWITCH_ALARM, FAILOVER_SWITCH_METRIC, FAILOVER_SWITCH_NAMESPACE, Settings
from devstack.aws import ensure_resources

pytestmark = pytest.mark.integration
STANDBY = "us-west-2"


def cloudwatch(settings: Settings, region: str = STANDBY) -> Any:
    return boto3.client("cloudwatch", region_name=region, endpoint_url=settings.aws_endpoint_url)


def test_the_provisioned_alarm_is_the_contracts(settings: Settings) -> None:
    client = cloudwatch(settings, "eu-north-1")
    ensure_switch_alarm(client)
    (alarm,) = client.describe_alarms(AlarmNames=[FAILOVER_SWITCH_ALARM])["MetricAlarms"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        FAILOVER_SWITCH_NAMESPACE,
        FAILOVER_SWITCH_METRIC,
        "Maximum",
    )
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"]) == (60, 1, 1.0)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and alarm["TreatMissingData"] == "ignore"
    assert alarm.get("Dimensions", []) == []


def test_setting_and_clearing_the_switch_fences_and_unfences_the_primary_only(settings: Settings) -> None:
    # GIVEN the alarm in the standby region, and each role's fence reading it (no cache)
    client = cloudwatch(settings)
    ensure_switch_alarm(client)
    set_primary_out_of_service(client, False)
    reader = CloudWatchFailoverSwitch(cloudwatch(settings), ttl_seconds=0)
    primary, dr = Fence(reader, "primary"), Fence(reader, "dr")
    assert primary.in_service() and dr.in_service()
    # WHEN the standby takes over THEN the primary is fenced, the dr region is not, and the metric holds a 1
    assert set_primary_out_of_service(client, True) == "ALARM"
    assert not primary.in_service() and dr.in_service()
    stats = client.list_metrics(Namespace=FAILOVER_SWITCH_NAMESPACE, MetricName=FAILOVER_SWITCH_METRIC)["Metrics"]
    assert stats, "the writer put the metric as well as the alarm state"
    # WHEN the operator clears it THEN the primary serves again
    assert set_primary_out_of_service(client, False) == "OK"
    assert primary.in_service()


def test_an_unreachable_cloudwatch_keeps_the_last_state(settings: Settings) -> None:
    client = cloudwatch(settings)
    ensure_switch_alarm(client)
    set_primary_out_of_service(client, True)
    ticks = [0.0]
    reader = CloudWatchFailoverSwitch(cloudwatch(settings), ttl_seconds=5, monotonic=lambda: ticks[0])
    assert reader.primary_out_of_service()
    reader._client = boto3.client(
        "cloudwatch", region_name=STANDBY, endpoint_url="http://127.0.0.1:9", config=PROBE_CONFIG
    )
    ticks[0] = 10.0
    assert reader.primary_out_of_service()  # still fenced: a CloudWatch outage never fails a primary back
    set_primary_out_of_service(client, False)


def test_the_deep_health_passes_on_provisioned_resources_and_fails_on_a_dead_endpoint(settings: Settings) -> None:
    # GIVEN the region's tables and queues
    ensure_resources(settings, visibility_timeout=5)
    endpoint = settings.aws_endpoint_url

    def probes(url: str | None) -> DeepHealth:
        dynamodb = boto3.client("dynamodb", region_name=settings.region, endpoint_url=url, config=PROBE_CONFIG)
        sqs = boto3.client("sqs", region_name=settings.region, endpoint_url=url, config=PROBE_CONFIG)
        return DeepHealth([DynamoDbReachable(dynamodb, settings.orders_table), SqsReachable(sqs, "x")], ttl_seconds=0)

    # THEN DynamoDB and SQS answer (the SQS probe's queue must exist: a missing one is named)
    healthy = DeepHealth(
        [
            DynamoDbReachable(
                boto3.client("dynamodb", region_name=settings.region, endpoint_url=endpoint), settings.orders_table
            ),
            SqsReachable(
                boto3.client("sqs", region_name=settings.region, endpoint_url=endpoint),
                settings.envelope_requests_queue,
            ),
        ]
    )
    assert healthy.failing() is None
    assert probes(endpoint).failing() == "sqs is unavailable (AWS.SimpleQueueService.NonExistentQueue)"
    # AND with nothing listening both are named, within the 1.5 s budget
    started = time.monotonic()
    problem = probes("http://127.0.0.1:9").failing()
    assert time.monotonic() - started < 2.5
    assert problem is not None and "dynamodb is unavailable" in problem and "sqs is unavailable" in problem


def test_the_container_builds_the_fence_from_the_switch_settings(settings: Settings) -> None:
    create_tables(
        bind_models(settings.orders_table, settings.idempotency_table, settings.region, settings.aws_endpoint_url)
    )
    client = cloudwatch(settings)
    ensure_switch_alarm(client)
    set_primary_out_of_service(client, True)
    try:
        fenced = build_container(replace(settings, role="primary", failover_switch_region=STANDBY))
        standby = build_container(replace(settings, role="dr", failover_switch_region=STANDBY))
        unswitched = build_container(replace(settings, role="primary", failover_switch_region=None))
        assert not fenced.region_switch.in_service()
        assert standby.region_switch.in_service() and unswitched.region_switch.in_service()
    finally:
        set_primary_out_of_service(client, False)
