"""The failover switch's reader and writer over a fake CloudWatch client, the fence, and the deep health."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.adapters.failover_switch import CloudWatchFailoverSwitch, set_primary_out_of_service
from chalicelib.failover import FailoverSwitch, Fence
from chalicelib.health import DeepHealth
from chalicelib.settings import FAILOVER_SWITCH_ALARM, FAILOVER_SWITCH_METRIC, FAILOVER_SWITCH_NAMESPACE
from tests.unit.fakes import FakeDependency


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeCloudWatch:
    """describe_alarms answers `state` (None: no such alarm), or raises `error`; counts calls."""

    def __init__(self, state: str | None = "OK") -> None:
        self.state = state
        self.error: Exception | None = None
        self.reads = 0
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def describe_alarms(self, **kwargs: Any) -> dict[str, Any]:
        self.reads += 1
        assert kwargs == {"AlarmNames": [FAILOVER_SWITCH_ALARM]}
        if self.error is not None:
            raise self.error
        return {"MetricAlarms": [] if self.state is None else [{"StateValue": self.state}]}

    def put_metric_data(self, **kwargs: Any) -> None:
        self.calls.append(("put_metric_data", kwargs))

    def set_alarm_state(self, **kwargs: Any) -> None:
        self.calls.append(("set_alarm_state", kwargs))
        self.state = kwargs["StateValue"]


def switch(cloudwatch: FakeCloudWatch, ticks: Ticks) -> CloudWatchFailoverSwitch:
    return CloudWatchFailoverSwitch(cloudwatch, ttl_seconds=5.0, monotonic=ticks)


@pytest.mark.parametrize(
    ("state", "out"), [("ALARM", True), ("OK", False), ("INSUFFICIENT_DATA", False), (None, False)]
)
def test_only_an_alarm_in_alarm_holds_the_primary_out(state: str | None, out: bool) -> None:
    assert switch(FakeCloudWatch(state), Ticks()).primary_out_of_service() is out


def test_the_alarm_is_read_at_most_once_per_ttl() -> None:
    cloudwatch, ticks = FakeCloudWatch("OK"), Ticks()
    reader = switch(cloudwatch, ticks)
    assert reader.primary_out_of_service() is False
    cloudwatch.state = "ALARM"
    ticks.now = 4.9
    assert reader.primary_out_of_service() is False and cloudwatch.reads == 1  # still the cached value
    ticks.now = 5.0
    assert reader.primary_out_of_service() is True and cloudwatch.reads == 2


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://monitoring.us-west-2.amazonaws.com"),
        ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "DescribeAlarms"),
    ],
)
def test_an_unreadable_alarm_keeps_the_last_known_value(error: Exception) -> None:
    cloudwatch, ticks = FakeCloudWatch("ALARM"), Ticks()
    reader = switch(cloudwatch, ticks)
    assert reader.primary_out_of_service() is True
    cloudwatch.error = error
    ticks.now = 10.0
    assert reader.primary_out_of_service() is True  # a CloudWatch blip does not unfence a taken-over primary
    cloudwatch.error, cloudwatch.state = None, "OK"
    ticks.now = 20.0
    assert reader.primary_out_of_service() is False


def test_unreadable_from_the_start_means_in_service() -> None:
    cloudwatch = FakeCloudWatch("ALARM")
    cloudwatch.error = EndpointConnectionError(endpoint_url="https://monitoring.us-west-2.amazonaws.com")
    assert switch(cloudwatch, Ticks()).primary_out_of_service() is False


def test_the_writer_puts_the_metric_and_sets_the_alarm_state_at_once() -> None:
    cloudwatch = FakeCloudWatch("OK")
    assert set_primary_out_of_service(cloudwatch, True) == "ALARM"
    (_, metric), (_, alarm) = cloudwatch.calls
    assert metric["Namespace"] == FAILOVER_SWITCH_NAMESPACE
    assert metric["MetricData"][0]["MetricName"] == FAILOVER_SWITCH_METRIC and metric["MetricData"][0]["Value"] == 1.0
    assert alarm["AlarmName"] == FAILOVER_SWITCH_ALARM and alarm["StateValue"] == "ALARM"
    assert set_primary_out_of_service(cloudwatch, False) == "OK"
    assert cloudwatch.calls[2][1]["MetricData"][0]["Value"] == 0.0 and cloudwatch.calls[3][1]["StateValue"] == "OK"


class Held(FailoverSwitch):
    def __init__(self, out: bool) -> None:
        self.out = out

    def primary_out_of_service(self) -> bool:
        return self.out


def test_the_switch_fences_the_primary_only() -> None:
    assert not Fence(Held(True), "primary").in_service()
    assert Fence(Held(False), "primary").in_service()
    assert Fence(Held(True), "dr").in_service()  # the standby that took over is never fenced by it


def test_deep_health_passes_when_every_dependency_answers() -> None:
    assert DeepHealth([FakeDependency("dynamodb"), FakeDependency("sqs")]).failing() is None


def test_deep_health_names_each_failed_dependency() -> None:
    health = DeepHealth([FakeDependency("dynamodb", down="InternalServerError"), FakeDependency("sqs")])
    assert health.failing() == "dynamodb is unavailable (InternalServerError)"


def test_a_dependency_that_hangs_fails_the_check_within_the_budget() -> None:
    release = threading.Event()

    class Hangs(FakeDependency):
        def check(self) -> None:
            release.wait(5)

    health = DeepHealth([Hangs("sqs"), FakeDependency("dynamodb")], budget_seconds=0.2)
    try:
        started = time.monotonic()
        assert health.failing() == "sqs did not answer within 0.2 s"
        assert time.monotonic() - started < 1.0
    finally:
        release.set()


def test_the_verdict_is_cached_for_the_ttl_both_ways() -> None:
    ticks, dynamodb = Ticks(), FakeDependency("dynamodb", down="ConnectTimeoutError")
    health = DeepHealth([dynamodb], ttl_seconds=5.0, monotonic=ticks)
    assert health.failing() is not None
    dynamodb.down = None
    ticks.now = 4.0
    assert health.failing() is not None and dynamodb.calls == 1
    ticks.now = 5.0
    assert health.failing() is None and dynamodb.calls == 2
    dynamodb.down = "InternalServerError"
    ticks.now = 6.0
    assert health.failing() is None and dynamodb.calls == 2
