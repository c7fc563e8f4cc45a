"""The failover drill: preflight, canary traffic, fault, RTO and RPO, failback, verification.

`run_failover` is the whole drill in order; each step it takes follows it, in the same order.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.orders.model import OrderStatus
from chalicelib.polling import wait_for
from drill.canary import CanaryTraffic
from drill.model import DRILL, HELD_OUT_SECONDS, STANDBY, Canary, FailoverResult, HeldOut, ReplicationProbe, Switch
from drill.targets import Target

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
    held_out_seconds: float = HELD_OUT_SECONDS
    """After the fault ends, how long the drill watches the primary stay out while the switch is set."""


def run_failover(target: Target, pacing: Pacing = Pacing()) -> FailoverResult:
    """Measures what happened; the Verdict holds it against the objectives."""
    started = datetime.now(UTC)
    traffic = CanaryTraffic(
        target.public_url,
        uuid.uuid4().hex[:8],
        target.canary_subjects(),
        interval=pacing.request_interval_seconds,
        headers=target.api_headers,
    )
    probe = preflight(target, traffic)
    reported_lag_ms = target.replication_lag_ms()
    log.info(
        "preflight passed; replication measured %.0f ms from the acknowledgement (%.0f ms from sending); %s: %s ms",
        probe.from_ack_ms,
        probe.from_send_ms,
        target.replication_lag_source,
        reported_lag_ms,
    )
    traffic.start()
    time.sleep(pacing.warmup_seconds)
    failover, held = fail_over_and_hold(target, traffic, pacing)
    stay_out(target, traffic, held, pacing)
    failback = fail_back(target, traffic, pacing, held)
    traffic.stop()
    canaries = traffic.acknowledged()
    comparison = settled_comparison(target, canaries, pacing.settle_timeout_seconds)
    counts = target.message_counts()
    orders = [c.key for c in canaries if c.kind == "order"]
    return FailoverResult(
        started_at=started,
        primary=target.primary,
        secondary=target.secondary,
        replication_lag_ms=probe.from_ack_ms,
        replication_lag_from_send_ms=probe.from_send_ms,
        reported_replication_lag_ms=reported_lag_ms,
        reported_replication_lag_source=target.replication_lag_source,
        failover=failover,
        failback=failback,
        canaries=canaries,
        requests=traffic.history(),
        lost_acknowledged_writes=comparison.lost,
        content_mismatches=comparison.mismatched,
        undecided_orders=comparison.undecided,
        decisions_per_order=counts.published(orders) if counts else {},
        duplicate_notifications=counts.duplicate_notifications() if counts else [],
        finished_at=datetime.now(UTC),
        held_out=held,
    )


def preflight(target: Target, traffic: CanaryTraffic, timeout: float = 15.0) -> ReplicationProbe:
    """Both regions healthy and a write replicating: how long the probe took to be readable in DR.

    Counted to the first strongly consistent read that finds it there, from the API's 201/202 and
    from sending the write; it is read back through the public endpoint only after.
    """
    for region in (target.primary, target.secondary):
        if not target.healthy(region):
            raise PreflightFailed(f"{region} is not healthy; fix it before drilling")
    probe = traffic.write()
    if probe is None:
        raise PreflightFailed("the public endpoint did not acknowledge a probe write")
    if not wait_for(lambda: target.data.item(target.secondary, probe.kind, probe.key) is not None, timeout, every=0.01):
        raise PreflightFailed(f"a write in {target.primary} did not reach {target.secondary} within {timeout}s")
    visible = time.perf_counter()
    traffic.read(probe)
    return ReplicationProbe((visible - probe.acked_clock) * 1000, (visible - probe.sent_clock) * 1000)


def fail_over_and_hold(target: Target, traffic: CanaryTraffic, pacing: Pacing) -> tuple[Switch, HeldOut]:
    """The primary is lost, routing moves, the standby takes over (its sweeper sets the switch, which fences
    the primary and keeps Route 53 off it), and DR serves for the hold, deciding the orders the primary stranded."""
    failover = switch_over(target, traffic, target.primary, target.secondary, pacing, fail=True)
    missing = len(failover.missing_at_switch)
    log.info("failed over: RTO %s s, %d acknowledged writes missing", failover.rto_seconds, missing)
    held = await_takeover(target, failover.fault_at)
    log.info("the standby took over: the switch holds %s out until failback", target.primary)
    time.sleep(pacing.hold_on_dr_seconds)
    # The primary is still out: whatever of its stranded orders is decided now, the DR region decided.
    failover.stranded_decided_by_survivor = decided_in(target, target.secondary, failover.stranded_orders)
    return failover, held


def await_takeover(target: Target, fault_at: datetime) -> HeldOut:
    """Nobody sets the switch but the standby: its sweeper's latch, once every probe of the primary failed.

    The drill only watches for it. When it does not come within the target's `takeover_timeout_seconds`,
    the drill sets the switch itself, so the hold, the failback and the comparison still run and the
    regions end in a known state, and the verdict fails naming it: a latch that did not act is the finding.
    """
    timeout = target.takeover_timeout_seconds
    if wait_for(target.switch_set, timeout, every=target.takeover_poll_seconds):
        held = HeldOut(switch_set_at=datetime.now(UTC), set_by=STANDBY)
        log.info("the standby's sweeper set the switch %.1f s after the fault", held.takeover_seconds(fault_at))
    else:
        log.warning("the standby did not take over within %g s: the drill sets the switch itself", timeout)
        target.take_over(target.primary)
        held = HeldOut(switch_set_at=datetime.now(UTC), set_by=DRILL)
    held.takeover_after_fault_seconds = held.takeover_seconds(fault_at)
    held.takeover_timeout_seconds = timeout
    return held


def stay_out(target: Target, traffic: CanaryTraffic, held: HeldOut, pacing: Pacing) -> None:
    """The fault ends, and the primary must not come back on its own: while the switch is set its health
    answers 503 (fenced) and routing keeps every canary on DR. Failback is the operator's step."""
    target.recover(target.primary)
    held.recovered_at = datetime.now(UTC)
    started = time.monotonic()
    while time.monotonic() - started < pacing.held_out_seconds:
        held.primary_health.append(target.health_status(target.primary))
        time.sleep(0.5)
    held.watched_seconds = time.monotonic() - started
    recovered = held.recovered_at
    held.served_by_primary = sum(1 for r in traffic.history() if r.at >= recovered and r.region == target.primary)
    log.info("recovered and held out: %s (health %s)", held.stayed_out, sorted(set(map(str, held.primary_health))))


def fail_back(target: Target, traffic: CanaryTraffic, pacing: Pacing, held: HeldOut) -> Switch:
    """The operator's step: the switch is cleared; measured until the primary serves a write and its read."""
    failback = switch_over(target, traffic, target.secondary, target.primary, pacing, fail=False)
    held.cleared_at = failback.fault_at
    log.info("failed back: %s s", failback.rto_seconds)
    time.sleep(pacing.after_failback_seconds)
    return failback


def switch_over(target: Target, traffic: CanaryTraffic, lost: str, survivor: str, pacing: Pacing, fail: bool) -> Switch:
    """Fails `lost` (or fails back to `survivor`), then waits until `survivor` serves a write and its read back."""
    at = datetime.now(UTC)
    if fail:
        target.inject_fault(lost)
    else:
        target.fail_back(survivor)
    switch = Switch(fault_at=at)
    if fail:
        switch.stranded_orders = in_flight(target, traffic, lost, survivor)

    def served() -> bool:
        if fail and switch.detected_at is None:
            switch.detected_at = target.detected_unhealthy(lost, at)
        switch.served_at = traffic.served_since(at, survivor)
        return switch.served_at is not None

    if wait_for(served, pacing.switch_timeout_seconds, every=0.05):
        switch.routed_at = next((r.at for r in traffic.history() if r.at >= at and r.region == survivor), None)
    # RPO: what the region now serving lacks of all the other one acknowledged (it acknowledges no more)
    before = [c for c in traffic.acknowledged() if c.region != survivor]
    missing = [c for c in before if target.data.item(survivor, c.kind, c.key) is None]
    switch.missing_at_switch = [c.label for c in missing]
    switch.missing_window_seconds = window_seconds(missing, [c for c in before if c not in missing])
    return switch


def in_flight(target: Target, traffic: CanaryTraffic, lost: str, survivor: str) -> list[str]:
    """Orders acknowledged by the lost region that the survivor holds undecided, right after the fault."""
    orders = [c.key for c in traffic.acknowledged() if c.kind == "order" and c.region == lost]
    return [key for key in orders if status(target.data.item(survivor, "order", key)) == OrderStatus.PROCESSING]


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


def decided_in(target: Target, region: str, order_keys: list[str]) -> int:
    return sum(1 for key in order_keys if decided(target.data.item(region, "order", key)))


@dataclass
class Comparison:
    """Each canary as both regions hold it: missing in one, different, or an order not yet terminal."""

    lost: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)

    @property
    def settled(self) -> bool:
        return not (self.lost or self.mismatched or self.undecided)


def settled_comparison(target: Target, canaries: list[Canary], timeout: float) -> Comparison:
    """Compares until replication has settled (or `timeout`), and returns what it compared last."""
    latest = compare(target, canaries)

    def settled() -> bool:
        nonlocal latest
        latest = compare(target, canaries)
        return latest.settled

    if not latest.settled:
        wait_for(settled, timeout, every=0.5)
    return latest


def compare(target: Target, canaries: list[Canary]) -> Comparison:
    result = Comparison()
    for canary in canaries:
        primary, secondary = (target.data.item(r, canary.kind, canary.key) for r in (target.primary, target.secondary))
        if primary is None or secondary is None:
            result.lost.append(canary.label)
        elif primary != secondary:
            result.mismatched.append(canary.label)
        elif canary.kind == "order" and not decided(primary):
            result.undecided.append(canary.label)
    return result


def status(item: dict[str, Any] | None) -> str | None:
    """An order item's status, as DynamoDB hands it over."""
    return None if item is None else item.get("status", {}).get("S")


def decided(item: dict[str, Any] | None) -> bool:
    """The order is in a terminal status: nothing more happens to it on its own."""
    value = status(item)
    return value is not None and OrderStatus(value).terminal
