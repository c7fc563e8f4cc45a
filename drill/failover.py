"""The failover drill: preflight, canary traffic, fault, RTO and RPO, failback, verification."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from drill.canary import CanaryTraffic
from drill.model import Canary, FailoverResult, Objectives, Switch
from drill.targets import TERMINAL, Target, wait_for

log = logging.getLogger("ame.drill")


class PreflightFailed(RuntimeError):
    """The environment is not fit for a drill: a region is down or replication is not flowing."""


@dataclass(frozen=True)
class Pacing:
    """How long each phase lasts; the defaults keep a local drill well under a minute."""

    warmup_seconds: float = 3.0
    hold_on_dr_seconds: float = 6.0
    after_failback_seconds: float = 3.0
    request_interval_seconds: float = 0.1
    settle_timeout_seconds: float = 60.0
    switch_timeout_seconds: float = 120.0


def preflight(target: Target, traffic: CanaryTraffic, timeout: float = 15.0) -> float:
    """Both regions healthy and a write replicating: returns how long the probe took to reach DR (ms)."""
    for region in (target.primary, target.secondary):
        if not target.healthy(region):
            raise PreflightFailed(f"{region} is not healthy; fix it before drilling")
    traffic.write_and_read()
    acknowledged = traffic.acknowledged()
    if not acknowledged:
        raise PreflightFailed("the public endpoint did not acknowledge a probe write")
    probe = acknowledged[-1]
    started = time.monotonic()
    if not wait_for(lambda: target.data.item(target.secondary, probe.kind, probe.key) is not None, timeout, every=0.01):
        raise PreflightFailed(f"a write in {target.primary} did not reach {target.secondary} within {timeout}s")
    return (time.monotonic() - started) * 1000


def window_seconds(missing: list[Canary], present: list[Canary]) -> float:
    """RPO as time: from the last write the survivor holds before the first it lacks, to the last acknowledgement.

    That is the span of acknowledged writes the lost region took with it (0 when none are missing).
    """
    if not missing:
        return 0.0
    oldest_missing = min(c.acked_at for c in missing)
    durable = [c.acked_at for c in present if c.acked_at < oldest_missing]
    last_ack = max(c.acked_at for c in [*missing, *present])
    return (last_ack - (max(durable) if durable else oldest_missing)).total_seconds()


def switch_over(target: Target, traffic: CanaryTraffic, lost: str, survivor: str, pacing: Pacing, fail: bool) -> Switch:
    """Fails (or recovers) `lost`, then waits until `survivor` serves a write and its read back."""
    at = datetime.now(UTC)
    if fail:
        target.inject_fault(lost)
    else:
        target.recover(survivor)
    switch = Switch(fault_at=at)
    if fail:
        switch.stranded_orders = in_flight(target, traffic, lost, survivor)
    deadline = time.monotonic() + pacing.switch_timeout_seconds
    while time.monotonic() < deadline and switch.served_at is None:
        if fail and switch.detected_at is None:
            switch.detected_at = target.detected_unhealthy(lost, at)
        switch.served_at = traffic.served_since(at, survivor)
        time.sleep(0.05)
    if switch.served_at is not None:
        switch.routed_at = next((r.at for r in traffic.history() if r.at >= at and r.region == survivor), None)
    # RPO: what the region now serving lacks of all the other one acknowledged (it acknowledges no more)
    before = [c for c in traffic.acknowledged() if c.region != survivor]
    missing = [c for c in before if target.data.item(survivor, c.kind, c.key) is None]
    switch.missing_at_switch = [c.label for c in missing]
    switch.missing_window_seconds = window_seconds(missing, [c for c in before if c not in missing])
    return switch


def status(item: dict[str, Any] | None) -> str | None:
    """An order item's status, as DynamoDB hands it over."""
    return None if item is None else item.get("status", {}).get("S")


def in_flight(target: Target, traffic: CanaryTraffic, lost: str, survivor: str) -> list[str]:
    """Orders acknowledged by the lost region that the survivor holds undecided, right after the fault."""
    orders = [c.key for c in traffic.acknowledged() if c.kind == "order" and c.region == lost]
    return [key for key in orders if status(target.data.item(survivor, "order", key)) == "PROCESSING"]


def decided_in(target: Target, region: str, order_keys: list[str]) -> int:
    return sum(1 for key in order_keys if status(target.data.item(region, "order", key)) in TERMINAL)


@dataclass
class Comparison:
    """Each canary as both regions hold it: missing in one, different, or an order not yet terminal."""

    lost: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)

    @property
    def settled(self) -> bool:
        return not (self.lost or self.mismatched or self.undecided)


def compare(target: Target, canaries: list[Canary]) -> Comparison:
    result = Comparison()
    for canary in canaries:
        primary, secondary = (target.data.item(r, canary.kind, canary.key) for r in (target.primary, target.secondary))
        if primary is None or secondary is None:
            result.lost.append(canary.label)
        elif primary != secondary:
            result.mismatched.append(canary.label)
        elif canary.kind == "order" and status(primary) not in TERMINAL:
            result.undecided.append(canary.label)
    return result


def run_failover(target: Target, objectives: Objectives, pacing: Pacing = Pacing()) -> FailoverResult:
    started = datetime.now(UTC)
    traffic = CanaryTraffic(target.public_url, uuid.uuid4().hex[:8], interval=pacing.request_interval_seconds)
    lag_ms = preflight(target, traffic)
    reported_lag_ms = target.replication_lag_ms()
    log.info("preflight passed; replication %.0f ms (platform reports %s ms)", lag_ms, reported_lag_ms)
    traffic.start()
    time.sleep(pacing.warmup_seconds)
    failover = switch_over(target, traffic, target.primary, target.secondary, pacing, fail=True)
    missing = len(failover.missing_at_switch)
    log.info("failed over: RTO %s s, %d acknowledged writes missing", failover.rto_seconds, missing)
    time.sleep(pacing.hold_on_dr_seconds)
    # The primary is still down: whatever of its stranded orders is decided now, the DR region decided.
    failover.stranded_decided_by_survivor = decided_in(target, target.secondary, failover.stranded_orders)
    failback = switch_over(target, traffic, target.secondary, target.primary, pacing, fail=False)
    log.info("failed back: %s s", failback.rto_seconds)
    time.sleep(pacing.after_failback_seconds)
    traffic.stop()
    canaries = traffic.acknowledged()
    # Verification waits for replication to settle, then reads what it compared last.
    comparison = compare(target, canaries)
    deadline = time.monotonic() + pacing.settle_timeout_seconds
    while not comparison.settled and time.monotonic() < deadline:
        time.sleep(0.5)
        comparison = compare(target, canaries)
    counts = target.message_counts()
    orders = [c.key for c in canaries if c.kind == "order"]
    return FailoverResult(
        started_at=started,
        primary=target.primary,
        secondary=target.secondary,
        replication_lag_ms=lag_ms,
        reported_replication_lag_ms=reported_lag_ms,
        failover=failover,
        failback=failback,
        canaries=canaries,
        requests=traffic.history(),
        lost_acknowledged_writes=comparison.lost,
        content_mismatches=comparison.mismatched,
        undecided_orders=comparison.undecided,
        decisions_per_order={key: counts[0][key] for key in orders} if counts else {},
        duplicate_notifications=sorted(k for k, n in counts[1].items() if n > 1) if counts else [],
        finished_at=datetime.now(UTC),
    )
