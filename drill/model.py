"""What a drill measures and reports; plain data, timestamps in UTC."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

HELD_OUT_SECONDS = 5.0
"""How long the drill watches the recovered primary stay out while the switch is set (more than the local
router's 3 checks a second apart; the drill's default)."""


@dataclass(frozen=True)
class Objectives:
    """RPO as seconds of acknowledged writes that may be missing at failover; RTO as seconds to serve."""

    rpo_seconds: float = 1.0
    rto_seconds: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Objectives:
        return cls(
            rpo_seconds=float(env.get("DRILL_RPO_SECONDS", "1.0")),
            rto_seconds=float(env.get("DRILL_RTO_SECONDS", "60")),
        )


@dataclass(frozen=True)
class Canary:
    """One write the platform acknowledged during the drill, and where."""

    kind: str  # "order" or "decision"
    key: str
    acked_at: datetime
    region: str
    sent_clock: float
    """`time.perf_counter()` when the write was sent: the platform took the change after this."""
    acked_clock: float
    """`time.perf_counter()` when the API answered: durations from the acknowledgement use this clock."""

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.key}"


@dataclass(frozen=True)
class Request:
    """Every request the canary traffic made, for the timeline."""

    at: datetime
    op: str  # "write" or "read"
    ok: bool
    region: str | None
    status: int | None


@dataclass(frozen=True)
class ReplicationProbe:
    """How long the preflight probe took to be readable in DR (ms), from its acknowledgement and from sending it."""

    from_ack_ms: float
    from_send_ms: float


@dataclass(frozen=True)
class MessageCounts:
    """Results and notifications sent during a drill, each counted by its deduplication id over both regions."""

    results: Counter[str]
    notifications: Counter[str]

    def published(self, order_keys: list[str]) -> dict[str, int]:
        """How many results each order sent: exactly one when it was decided and published once."""
        return {key: self.results[key] for key in order_keys}

    def duplicate_notifications(self) -> list[str]:
        return sorted(dedup_id for dedup_id, sent in self.notifications.items() if sent > 1)


@dataclass
class Switch:
    """One direction of a region switch: primary -> DR (failover) or DR -> primary (failback)."""

    fault_at: datetime
    detected_at: datetime | None = None
    routed_at: datetime | None = None
    served_at: datetime | None = None
    missing_at_switch: list[str] = field(default_factory=list)
    missing_window_seconds: float = 0.0
    stranded_orders: list[str] = field(default_factory=list)
    """Orders the lost region had acknowledged but not decided when it failed: they wait in its queue."""
    stranded_decided_by_survivor: int = 0
    """How many of those the surviving region decided on its own (its sweeper re-queued them)."""

    @property
    def rto_seconds(self) -> float | None:
        return None if self.served_at is None else (self.served_at - self.fault_at).total_seconds()


STANDBY, DRILL = "standby", "drill"
"""Who set the switch: the standby's sweeper (its takeover latch), or the drill when the latch did not act in time."""


@dataclass
class HeldOut:
    """Between failover and failback: the standby took over (switch set), the fault ended, and the
    recovered primary stayed out until the operator cleared the switch."""

    switch_set_at: datetime
    set_by: str = STANDBY
    takeover_after_fault_seconds: float | None = None
    """Fault → the switch seen set (the drill polls it): how long the standby's latch took."""
    takeover_timeout_seconds: float | None = None
    recovered_at: datetime | None = None
    watched_seconds: float = 0.0
    primary_health: list[int | None] = field(default_factory=list)
    """Each status the primary's own `/v1/health` answered while watched (503: fenced)."""
    served_by_primary: int = 0
    """Canary requests the primary answered while the switch was set: 0 when it stayed out."""
    cleared_at: datetime | None = None

    @property
    def standby_took_over(self) -> bool:
        return self.set_by == STANDBY

    def takeover_seconds(self, fault_at: datetime) -> float:
        return (self.switch_set_at - fault_at).total_seconds()

    @property
    def stayed_out(self) -> bool:
        return bool(self.primary_health) and 200 not in self.primary_health and self.served_by_primary == 0


@dataclass
class FailoverResult:
    started_at: datetime
    primary: str
    secondary: str
    replication_lag_ms: float
    """Measured at preflight: the probe write's acknowledgement → first strongly consistent read of it in DR."""
    replication_lag_from_send_ms: float
    """The same, counted from sending the write. The platform took the change between the two moments, so its
    replication lag lies between the two figures: the acknowledgement can come after replication has begun."""
    reported_replication_lag_ms: float | None
    """What the platform itself reports at preflight: the local replicator, or CloudWatch in AWS."""
    reported_replication_lag_source: str
    """Which figure of the platform that is, in words (the target's `replication_lag_source`)."""
    failover: Switch
    failback: Switch | None
    canaries: list[Canary]
    requests: list[Request]
    lost_acknowledged_writes: list[str]
    content_mismatches: list[str]
    undecided_orders: list[str]
    decisions_per_order: dict[str, int]
    duplicate_notifications: list[str]
    finished_at: datetime
    held_out: HeldOut | None = None

    @property
    def rto_seconds(self) -> float | None:
        return self.failover.rto_seconds

    @property
    def rpo_seconds(self) -> float:
        return self.failover.missing_window_seconds

    @property
    def orders_not_published_once(self) -> list[str]:
        return sorted(key for key, published in self.decisions_per_order.items() if published != 1)


@dataclass(frozen=True)
class RestoreResult:
    table: str
    restored_table: str
    point_in_time: datetime
    items: int
    restored_items: int
    checksum: str
    restored_checksum: str
    restore_seconds: float

    @property
    def verified(self) -> bool:
        return self.items == self.restored_items and self.checksum == self.restored_checksum


def as_json(value: Any) -> Any:
    """Dataclasses and datetimes as JSON-ready values."""
    if hasattr(value, "__dataclass_fields__"):
        return as_json(asdict(value))
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
