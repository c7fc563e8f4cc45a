"""The drill report: `report.json` for machines, `report.md` for people, `timeline.png` to see it.

matplotlib is imported with this module, when the drill starts: a missing package stops the drill
before it touches anything, not after it has flipped a region's switch.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from drill.model import FailoverResult, Objectives, RestoreResult, as_json


@dataclass(frozen=True)
class Verdict:
    objectives: Objectives
    failover: FailoverResult | None
    restore: RestoreResult | None

    @property
    def failures(self) -> list[str]:
        """Each objective or check that did not hold, in words; empty when the drill passed."""
        problems: list[str] = []
        f = self.failover
        if f is not None:
            rto = f.rto_seconds
            if rto is None:
                problems.append("the DR region never served a write and its read back (RTO not reached)")
            elif rto > self.objectives.rto_seconds:
                problems.append(f"RTO {rto:.1f}s exceeds the {self.objectives.rto_seconds:g}s objective")
            if f.rpo_seconds > self.objectives.rpo_seconds:
                problems.append(f"RPO {f.rpo_seconds:.2f}s exceeds the {self.objectives.rpo_seconds:g}s objective")
            if f.failback is None or f.failback.rto_seconds is None:
                problems.append("failback never completed")
            if f.held_out is not None and not f.held_out.standby_took_over:
                problems.append(
                    f"the standby did not take over within {f.held_out.takeover_timeout_seconds:g} s of failing over: "
                    "the drill set the switch itself"
                )
            if f.held_out is not None and not f.held_out.stayed_out:
                problems.append(
                    "the recovered primary took traffic or passed its health check before the switch was cleared"
                )
            for label, items in (
                ("acknowledged writes lost", f.lost_acknowledged_writes),
                ("canaries differing between regions", f.content_mismatches),
                ("canary orders not in a terminal state", f.undecided_orders),
                ("duplicate notifications", f.duplicate_notifications),
            ):
                if items:
                    problems.append(f"{len(items)} {label}")
            if f.orders_not_published_once:
                problems.append(f"{len(f.orders_not_published_once)} canary orders published 0 or 2+ times, not once")
        if self.restore is not None and not self.restore.verified:
            problems.append("the restored table differs from the source at the restore point")
        return problems

    @property
    def met(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        f, r = self.failover, self.restore
        return {
            "objectives_met": self.met,
            "failures": self.failures,
            "objectives": as_json(self.objectives),
            "rto_seconds": None if f is None else f.rto_seconds,
            "rpo_seconds": None if f is None else f.rpo_seconds,
            "rpo_missing_writes": None if f is None else len(f.failover.missing_at_switch),
            "stranded_orders": None if f is None else len(f.failover.stranded_orders),
            "lost_acknowledged_writes": None if f is None else len(f.lost_acknowledged_writes),
            "replication_lag_ms": None if f is None else round(f.replication_lag_ms, 1),
            "replication_lag_from_send_ms": None if f is None else round(f.replication_lag_from_send_ms, 1),
            "reported_replication_lag_ms": None if f is None else f.reported_replication_lag_ms,
            "reported_replication_lag_source": None if f is None else f.reported_replication_lag_source,
            "failback_seconds": None if f is None or f.failback is None else f.failback.rto_seconds,
            "primary_held_out_until_failback": None if f is None or f.held_out is None else f.held_out.stayed_out,
            "standby_took_over": None if f is None or f.held_out is None else f.held_out.standby_took_over,
            "takeover_seconds": None if f is None or f.held_out is None else f.held_out.takeover_after_fault_seconds,
            "restore_seconds": None if r is None else round(r.restore_seconds, 3),
            "failover": None if f is None else _failover_details(f),
            "restore": None if r is None else {**as_json(r), "verified": r.verified},
        }


def _failover_details(f: FailoverResult) -> dict[str, Any]:
    served = {region: sum(1 for r in f.requests if r.region == region and r.ok) for region in (f.primary, f.secondary)}
    return {
        "primary": f.primary,
        "secondary": f.secondary,
        "started_at": f.started_at.isoformat(),
        "finished_at": f.finished_at.isoformat(),
        "failover": as_json(f.failover),
        "failback": as_json(f.failback),
        "held_out": as_json(f.held_out),
        "acknowledged_writes": len(f.canaries),
        "acknowledged_orders": sum(1 for c in f.canaries if c.kind == "order"),
        "requests": len(f.requests),
        "failed_requests": sum(1 for r in f.requests if not r.ok),
        "served_ok_by_region": served,
        "lost": f.lost_acknowledged_writes,
        "content_mismatches": f.content_mismatches,
        "undecided_orders": f.undecided_orders,
        "duplicate_notifications": f.duplicate_notifications,
        "orders_not_published_once": f.orders_not_published_once,
    }


def unwritable(directory: Path) -> str | None:
    """Why the report could not be written to `directory`, found before the drill rather than after it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
    except OSError as error:
        return f"cannot write the report to {directory}: {error.strerror}"
    return None


def write_report(verdict: Verdict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(verdict.as_dict(), indent=2) + "\n")
    (directory / "report.md").write_text(markdown(verdict))
    if verdict.failover is not None:
        timeline(verdict.failover, directory / "timeline.png")
    return directory


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _milliseconds(value: float | None) -> str:
    return "— (not reported)" if value is None else f"{value:.1f} ms"


def _utc(moment: datetime) -> str:
    """ISO-8601 in UTC to the millisecond, `Z`-suffixed: the one way report.md writes a time."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _writes(count: int) -> str:
    return f"{count} write" if count == 1 else f"{count} writes"


def markdown(verdict: Verdict) -> str:
    data = verdict.as_dict()
    o = verdict.objectives
    f = verdict.failover
    lines = [
        f"# DR drill: {'objectives met' if verdict.met else 'OBJECTIVES MISSED'}",
        "",
        "Times are UTC, in ISO-8601 (`Z`); durations are in seconds (s) or milliseconds (ms).",
        "",
        "| measure | value | objective |",
        "|---|---|---|",
        f"| RTO (fault → first write and read served by DR) | {_seconds(data['rto_seconds'])} "
        f"| ≤ {o.rto_seconds:g} s |",
        f"| RPO (acknowledged writes DR lacked at that moment) | {_seconds(data['rpo_seconds'])}"
        f" ({_writes(data['rpo_missing_writes'] or 0)}) | ≤ {o.rpo_seconds:g} s |",
        f"| acknowledged writes lost after failback (count) | {data['lost_acknowledged_writes']} | 0 |",
    ]
    if f is not None:
        lines += [
            f"| replication at preflight, measured: probe write acknowledged → readable in {f.secondary} "
            f"| {_milliseconds(f.replication_lag_ms)} ({_milliseconds(f.replication_lag_from_send_ms)} "
            "from sending the write) | |",
            f"| replication at preflight, reported by the platform: {f.reported_replication_lag_source} "
            f"| {_milliseconds(f.reported_replication_lag_ms)} | |",
        ]
    lines += [
        f"| failback (recovery → first write and read served by primary) | {_seconds(data['failback_seconds'])} | |",
        f"| restore to a point in time | {_seconds(data['restore_seconds'])} | |",
        "",
    ]
    if f is not None:
        details = data["failover"]
        served = ", ".join(f"{region} {count}" for region, count in details["served_ok_by_region"].items())
        lines += [
            "## Failover",
            "",
            f"- Drill from {_utc(f.started_at)} to {_utc(f.finished_at)}; primary {f.primary}, DR {f.secondary}.",
            f"- {details['acknowledged_writes']} acknowledged canary writes ({details['acknowledged_orders']} orders), "
            f"{details['requests']} requests, {details['failed_requests']} failed while switching; "
            f"answered successfully by region: {served}.",
            f"- Fault at {_utc(f.failover.fault_at)}, detected {_at(f.failover.detected_at)}, "
            f"served by {f.secondary} {_at(f.failover.served_at)}.",
            f"- Every canary present and identical in both regions: "
            f"{not details['lost'] and not details['content_mismatches']}; canary orders not terminal: "
            f"{len(details['undecided_orders'])}; published other than once: "
            f"{len(details['orders_not_published_once'])}; duplicate notifications: "
            f"{len(details['duplicate_notifications'])}.",
            f"- Orders {f.primary} had accepted but not decided at the fault (stranded in its queue): "
            f"{len(f.failover.stranded_orders)}; decided by {f.secondary} before failback, after its sweeper "
            f"re-queued them: {f.failover.stranded_decided_by_survivor}.",
            *_held_out_lines(f),
            "",
        ]
    r = verdict.restore
    if r is not None:
        lines += [
            "## Restore",
            "",
            f"- `{r.table}` restored to {_utc(r.point_in_time)} as `{r.restored_table}` "
            f"in {r.restore_seconds:.2f} s, then deleted; {r.restored_items}/{r.items} items identical; checksums "
            f"{'match' if r.checksum == r.restored_checksum else 'DIFFER'} (`{r.checksum[:16]}…`).",
            "",
        ]
    if verdict.failures:
        lines += ["## What failed", "", *[f"- {problem}" for problem in verdict.failures], ""]
    return "\n".join(lines)


def _held_out_lines(f: FailoverResult) -> list[str]:
    h = f.held_out
    if h is None:
        return []
    statuses = ", ".join(sorted({"none" if s is None else str(s) for s in h.primary_health})) or "not checked"
    if h.standby_took_over:
        after = _seconds(h.takeover_after_fault_seconds)
        who = f"- The standby's sweeper set the switch by itself, {after} after the fault."
    else:
        who = (
            f"- The standby did NOT take over within {_seconds(h.takeover_timeout_seconds)} of failing over: the drill "
            "set the switch itself."
        )
    return [
        who,
        f"- The standby took over (the failover switch set in {f.secondary}) at {_utc(h.switch_set_at)}; the fault "
        f"ended {_at(h.recovered_at)}; for {h.watched_seconds:.1f} s after, {f.primary}'s health answered {statuses} "
        f"and it served {h.served_by_primary} canary requests: held out until the operator's step: {h.stayed_out}.",
        f"- Failback, the operator's step (the switch cleared): {_at(h.cleared_at)}.",
    ]


def _at(moment: datetime | None) -> str:
    return "never" if moment is None else f"at {_utc(moment)}"


def timeline(f: FailoverResult, path: Path) -> None:
    """Requests over time, coloured by the region that answered, with the drill's moments marked.

    A bare `Figure` (no pyplot) draws with Agg and holds no global state.
    """
    start = f.started_at
    colours = {f.primary: "tab:blue", f.secondary: "tab:orange"}
    fig = Figure(figsize=(11, 4))
    ax = fig.subplots()
    for region, colour in colours.items():
        points = [r for r in f.requests if r.ok and r.region == region]
        ax.scatter(
            [(r.at - start).total_seconds() for r in points],
            [1 if r.op == "write" else 0 for r in points],
            s=10,
            c=colour,
            label=f"served by {region}",
        )
    failed = [r for r in f.requests if not r.ok]
    ax.scatter(
        [(r.at - start).total_seconds() for r in failed],
        [1 if r.op == "write" else 0 for r in failed],
        s=16,
        c="tab:red",
        marker="x",
        label="failed",
    )
    marks = [
        ("fault", f.failover.fault_at, "red"),
        ("detected", f.failover.detected_at, "purple"),
        ("served by DR", f.failover.served_at, "green"),
    ]
    if f.held_out is not None:
        marks += [("switch set", f.held_out.switch_set_at, "brown"), ("fault ended", f.held_out.recovered_at, "olive")]
    if f.failback is not None:
        marks += [("failback", f.failback.fault_at, "black"), ("served by primary", f.failback.served_at, "gray")]
    for label, moment, colour in marks:
        if moment is not None:
            x = (moment - start).total_seconds()
            ax.axvline(x, color=colour, linestyle="--", linewidth=1)
            ax.text(x, 1.35, label, rotation=90, va="bottom", ha="right", fontsize=8, color=colour)
    ax.set_yticks([0, 1], ["read", "write"])
    ax.set_ylim(-0.5, 2.2)
    ax.set_xlabel("seconds since the drill started")
    rto = f.rto_seconds
    ax.set_title(
        f"DR drill {start:%Y-%m-%d %H:%M} UTC: RTO {rto:.2f} s, RPO {f.rpo_seconds:.2f} s" if rto else "DR drill"
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
