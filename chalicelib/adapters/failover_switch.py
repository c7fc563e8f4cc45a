"""The failover switch as a CloudWatch alarm in the standby (dr) region: its reader and its one writer.

Route 53's PRIMARY health check combines the primary's own check with this alarm, so the standby
side decides failover; the app reads the same alarm to fence a primary that has been taken over.
The writer (the standby's takeover latch, operators' runbook, the drill, `devstack.switch`) puts the
metric and sets the alarm's state: CloudWatch would take a minute to evaluate the metric (moto never
does), the state counts now.
The alarm treats missing data as `ignore`, so the last state holds: failback is always a step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.failover import SWITCH_CACHE_SECONDS, FailoverSwitch
from chalicelib.settings import FAILOVER_SWITCH_ALARM, FAILOVER_SWITCH_METRIC, FAILOVER_SWITCH_NAMESPACE
from chalicelib.takeover import SwitchLatch

log = logging.getLogger(__name__)
OUT_OF_SERVICE, IN_SERVICE = "ALARM", "OK"


class CloudWatchFailoverSwitch(FailoverSwitch):
    """`describe_alarms` at most every `ttl_seconds`; ALARM holds the primary out, any other state
    (OK, INSUFFICIENT_DATA, no alarm) does not. An unreadable alarm keeps the last value read: a
    CloudWatch blip must neither fence a healthy primary nor unfence a taken-over one."""

    def __init__(
        self,
        client: Any,
        alarm_name: str = FAILOVER_SWITCH_ALARM,
        ttl_seconds: float = SWITCH_CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._alarm = alarm_name
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._out = False
        self._read_at: float | None = None

    def primary_out_of_service(self) -> bool:
        with self._lock:
            now = self._monotonic()
            if self._read_at is None or now - self._read_at >= self._ttl:
                self._out = self._read(default=self._out)
                self._read_at = now
            return self._out

    def _read(self, default: bool) -> bool:
        try:
            alarms = self._client.describe_alarms(AlarmNames=[self._alarm])["MetricAlarms"]
        except (ClientError, BotoCoreError) as exc:
            log.warning("failover switch unreadable; keeping the last value", extra={"error": type(exc).__name__})
            return default
        return bool(alarms) and alarms[0].get("StateValue") == OUT_OF_SERVICE


class CloudWatchSwitchLatch(SwitchLatch):
    """The standby's takeover: the one writer, setting only (`chalicelib.takeover`)."""

    def __init__(self, client: Any, alarm_name: str = FAILOVER_SWITCH_ALARM) -> None:
        self._client = client
        self._alarm = alarm_name

    def hold_primary_out(self) -> None:
        set_primary_out_of_service(self._client, True, self._alarm, reason="the standby took over: every probe failed")


def set_primary_out_of_service(
    client: Any, out_of_service: bool, alarm_name: str = FAILOVER_SWITCH_ALARM, reason: str | None = None
) -> str:
    """Sets the switch (`client`: CloudWatch in the dr region); returns the alarm state it set."""
    client.put_metric_data(
        Namespace=FAILOVER_SWITCH_NAMESPACE,
        MetricData=[{"MetricName": FAILOVER_SWITCH_METRIC, "Value": 1.0 if out_of_service else 0.0, "Unit": "Count"}],
    )
    state = OUT_OF_SERVICE if out_of_service else IN_SERVICE
    if reason is None:
        reason = "primary held out of service from the standby" if out_of_service else "primary back in service"
    client.set_alarm_state(AlarmName=alarm_name, StateValue=state, StateReason=reason)
    return state


def ensure_switch_alarm(client: Any, alarm_name: str = FAILOVER_SWITCH_ALARM) -> None:
    """The alarm as the dr stack declares it (Pulumi in AWS; the local stack calls this)."""
    client.put_metric_alarm(
        AlarmName=alarm_name,
        AlarmDescription="ALARM holds the primary region out of service (Route 53 and the app); set from the dr side",
        Namespace=FAILOVER_SWITCH_NAMESPACE,
        MetricName=FAILOVER_SWITCH_METRIC,
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="ignore",
    )
