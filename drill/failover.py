"""The failover drill: preflight, canary traffic, fault, RTO and RPO, failback, verification."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from drill.canary import CanaryTraffic
from drill.model import Canary, FailoverResult, Objectives, Switch
from drill.targets import TERMINAL, LocalTarget, Target, wait_for

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
    if not wait_for(lambda: target.data.item(target.secondary, probe) is not None, timeout, every=0.01):
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
        switch.stranded_orders = [c.key for c in in_flight(target, traffic, lost, survivor)]
    deadline = time.monotonic() + pacing.switch_timeout_seconds
    while time.monotonic() < deadline and switch.served_at is None:
        if fail and switch.detected_at is None:
            switch.detected_at = target.detected_unhealthy(lost, at)
        switch.served_at = traffic.served_since(at, survivor)
        time.sleep(0.05)
    if switch.served_at is not None:
        switch.routed_at = next((r.at for r in traffic.requests if r.at >= at and r.region == survivor), None)
    # RPO: what the region now serving lacks of all the other one acknowledged (it acknowledges no more)
    before = [c for c in traffic.acknowledged() if c.region != survivor]
    items = {c: target.data.item(survivor, c) for c in before}
    missing = [c for c, item in items.items() if item is None]
    switch.missing_at_switch = [f"{c.kind}:{c.key}" for c in missing]
    switch.missing_window_seconds = window_seconds(missing, [c for c in before if c not in missing])
    return switch


def in_flight(target: Target, traffic: CanaryTraffic, lost: str, survivor: str) -> list[Canary]:
    """Orders acknowledged by the lost region that the survivor holds undecided, right after the fault."""
    orders = [c for c in traffic.acknowledged() if c.kind == "order" and c.region == lost]
    items = {c: target.data.item(survivor, c) for c in orders}
    return [c for c, item in items.items() if item is not None and item.get("status", {}).get("S") == "PROCESSING"]


def decided_in(target: Target, region: str, order_keys: list[str]) -> int:
    canaries = [Canary("order", key, datetime.now(UTC), region) for key in order_keys]
    items = [target.data.item(region, c) for c in canaries]
    return sum(1 for item in items if item is not None and item.get("status", {}).get("S") in TERMINAL)


def settle(target: Target, canaries: list[Canary], timeout: float) -> bool:
    """Waits until both regions hold every canary, identical, and every canary order is terminal."""

    def converged() -> bool:
        for canary in canaries:
            items = [target.data.item(region, canary) for region in (target.primary, target.secondary)]
            if items[0] is None or items[0] != items[1]:
                return False
            if canary.kind == "order" and items[0].get("status", {}).get("S") not in TERMINAL:
                return False
        return True

    return wait_for(converged, timeout, every=0.5)


def run_failover(target: Target, objectives: Objectives, pacing: Pacing = Pacing()) -> FailoverResult:
    started = datetime.now(UTC)
    traffic = CanaryTraffic(target.public_url, uuid.uuid4().hex[:8], interval=pacing.request_interval_seconds)
    lag_ms = preflight(target, traffic)
    reported_lag_ms = target.replication_lag_ms()
    log.info("preflight passed; replication %.0f ms (platform reports %s ms)", lag_ms, reported_lag_ms)
    traffic.start()
    time.sleep(pacing.warmup_seconds)
    failover = switch_over(target, traffic, target.primary, target.secondary, pacing, fail=True)
    log.info(
        "failed over: RTO %s s, %d acknowledged writes missing", failover.rto_seconds, len(failover.missing_at_switch)
    )
    time.sleep(pacing.hold_on_dr_seconds)
    # The primary is still down: whatever of its stranded orders is decided now, the DR region decided.
    failover.stranded_decided_by_survivor = decided_in(target, target.secondary, failover.stranded_orders)
    failback = switch_over(target, traffic, target.secondary, target.primary, pacing, fail=False)
    log.info("failed back: %s s", failback.rto_seconds)
    time.sleep(pacing.after_failback_seconds)
    traffic.stop()
    canaries = traffic.acknowledged()
    settle(target, canaries, pacing.settle_timeout_seconds)
    return verify(target, started, (lag_ms, reported_lag_ms), failover, failback, traffic, canaries)


def verify(
    target: Target,
    started: datetime,
    lags_ms: tuple[float, float | None],
    failover: Switch,
    failback: Switch | None,
    traffic: CanaryTraffic,
    canaries: list[Canary],
) -> FailoverResult:
    lost: list[str] = []
    mismatched: list[str] = []
    undecided: list[str] = []
    for canary in canaries:
        items = [target.data.item(region, canary) for region in (target.primary, target.secondary)]
        label = f"{canary.kind}:{canary.key}"
        if any(item is None for item in items):
            lost.append(label)
        elif items[0] != items[1]:
            mismatched.append(label)
        elif canary.kind == "order" and (items[0] or {}).get("status", {}).get("S") not in TERMINAL:
            undecided.append(label)
    counts = target.message_counts()
    orders = [c.key for c in canaries if c.kind == "order"]
    per_order = {key: counts[0][key] for key in orders} if counts else {}
    duplicates = sorted(k for k, n in counts[1].items() if n > 1) if counts else []
    return FailoverResult(
        started_at=started,
        primary=target.primary,
        secondary=target.secondary,
        replication_lag_ms=lags_ms[0],
        reported_replication_lag_ms=lags_ms[1],
        failover=failover,
        failback=failback,
        canaries=canaries,
        requests=list(traffic.requests),
        lost_acknowledged_writes=lost,
        content_mismatches=mismatched,
        undecided_orders=undecided,
        decisions_per_order=per_order,
        duplicate_notifications=duplicates,
        finished_at=datetime.now(UTC),
    )


def is_local(target: Target) -> bool:
    return isinstance(target, LocalTarget)
