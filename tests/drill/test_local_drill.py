"""The whole drill against the local two-region environment, as `make drill` runs it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from drill.__main__ import drill
from drill.failover import Pacing
from drill.model import Objectives
from drill.report import write_report
from drill.targets import LOCAL_REPLICATION_DELAY_MS, local_target

pytestmark = pytest.mark.drill


def test_a_failover_and_restore_drill_meets_the_objectives_and_loses_nothing(tmp_path: Path) -> None:
    # GIVEN the two-region environment and the default objectives (RPO <= 1 s, RTO <= 60 s)
    objectives = Objectives()
    at_detection: list[Any] = []
    with local_target() as target:
        detected = target.detected_unhealthy

        def detected_and_asked(region: str, since: datetime) -> datetime | None:
            """The moment routing saw the primary unhealthy, and what its own API answered then."""
            moment = detected(region, since)
            if moment is not None and not at_detection:
                answer = requests.get(f"{target.regional_url(region)}/v1/health", timeout=5)
                at_detection.append((answer.status_code, answer.json()))
            return moment

        target.detected_unhealthy = detected_and_asked  # type: ignore[method-assign]
        # WHEN a failover drill (with failback) and a restore drill run: the fault is the primary's DynamoDB
        verdict = drill("all", target, objectives, Pacing(hold_on_dr_seconds=6.0))
    failover, restore = verdict.failover, verdict.restore
    assert failover is not None and restore is not None
    # THEN the primary failed over on its impaired DynamoDB: its API was up and its deep health named it
    ((status, body),) = at_detection
    assert status == 503 and body["error"]["code"] == "DEPENDENCY_UNAVAILABLE"
    assert "dynamodb is unavailable (InternalServerError)" in body["error"]["message"]
    # AND once the impairment ended the primary stayed out (fenced: 503, no canary reached it) until the
    # operator cleared the switch; only then did it serve again
    held = failover.held_out
    assert held is not None and held.stayed_out and set(held.primary_health) == {503}
    assert held.recovered_at is not None and held.watched_seconds >= 5.0 and held.served_by_primary == 0
    assert held.switch_set_at < held.recovered_at and held.cleared_at is not None
    # AND nobody but the standby set the switch: its sweeper's latch, after the fault, with no drill fallback
    assert held.standby_took_over and held.takeover_after_fault_seconds is not None
    assert held.switch_set_at > failover.failover.fault_at
    assert failover.failback is not None and failover.failback.fault_at == held.cleared_at
    routed = failover.failover.served_at
    assert routed is not None
    back_on_primary = [r.at for r in failover.requests if r.region == "us-east-1" and r.at > routed]
    assert back_on_primary and min(back_on_primary) > held.cleared_at
    # THEN both objectives held, and the report says so
    assert failover.rto_seconds is not None and failover.rto_seconds <= objectives.rto_seconds
    assert failover.rpo_seconds <= objectives.rpo_seconds
    assert failover.reported_replication_lag_ms is not None  # the replicator reports what it applied
    # AND replication is measured from the probe's acknowledgement; the change entered the platform between
    # sending the write and that acknowledgement, so counted from sending it is never less than the modelled hold
    assert failover.replication_lag_from_send_ms >= LOCAL_REPLICATION_DELAY_MS
    assert 0 < failover.replication_lag_ms < failover.replication_lag_from_send_ms
    assert verdict.failures == [] and verdict.met
    # AND no acknowledged write was lost once the primary was back, and both regions agree on every one
    orders = [c.key for c in failover.canaries if c.kind == "order"]
    assert len(orders) >= 20 and {c.region for c in failover.canaries} == {"us-east-1", "us-west-2"}
    assert failover.lost_acknowledged_writes == [] and failover.content_mismatches == []
    # AND orders stranded in the lost region's queue were swept and decided in DR, each published exactly once
    stranded = failover.failover.stranded_orders
    assert stranded and failover.failover.stranded_decided_by_survivor == len(stranded)
    assert failover.undecided_orders == []
    assert sorted(failover.decisions_per_order) == sorted(orders)
    assert set(failover.decisions_per_order.values()) == {1}
    assert failover.duplicate_notifications == []
    # AND failback completed, the restore verified every item
    assert failover.failback is not None and failover.failback.rto_seconds is not None
    assert restore.verified and restore.items >= len(orders)
    report = write_report(verdict, tmp_path)
    data = json.loads((report / "report.json").read_text())
    expected = {"rto_seconds", "rpo_seconds", "lost_acknowledged_writes", "restore_seconds", "objectives_met"}
    assert expected <= set(data) and data["objectives_met"] is True and data["lost_acknowledged_writes"] == 0
    assert (report / "timeline.png").stat().st_size > 10_000
    text = (report / "report.md").read_text()
    assert "objectives met" in text
    assert data["primary_held_out_until_failback"] is True
    assert data["standby_took_over"] is True and data["takeover_seconds"] > 0
    assert "- The standby's sweeper set the switch by itself, " in text
    assert "held out until the operator's step: True" in text
    assert f"| {failover.replication_lag_ms:.1f} ms (" in text and "reported by the platform: local replicator" in text
