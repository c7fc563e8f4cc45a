"""The standby takes over: the dr region's sweeper latches the failover switch when the primary stops answering.

Route 53 fails over on the primary's own HTTPS check, and fails back on its own the moment that check
passes again. Failback must be an operator's step, so the standby watches the primary too: when every
probe of one run fails (no 200: an error, no answer, or 503 REGION_FENCED, already taken over) it sets
the switch, which holds the PRIMARY record out and fences the primary until an operator clears it.
Nothing here ever clears it: `SwitchLatch` has no such method.

An inter-region partition looks the same from the standby and triggers a takeover too. That is safe:
Route 53 checks from many places, sees the switch, and sends everyone to the standby, and the primary,
reading the switch (or keeping the last value it read), has no public traffic: one writer at a time.

A run skips probing while the switch already holds the primary out, and probes span longer than the
primary's switch cache (`SWITCH_CACHE_SECONDS`): a primary still answering "fenced" just after an
operator cleared the switch answers 200 by the last probe, so the latch never undoes a failback.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.failover import SWITCH_CACHE_SECONDS, FailoverSwitch

log = logging.getLogger("ame.takeover")


class PeerHealth(ABC):
    """The primary's regional deep health (`/v1/health` past Route 53), as the standby sees it."""

    @abstractmethod
    def failure(self) -> str | None:
        """None when it answered 200; else why not, as a short code ("503 REGION_FENCED", "ReadTimeout")."""


class SwitchLatch(ABC):
    """The switch as the standby may touch it: set only. Clearing is the operator's step (runbook, drill)."""

    @abstractmethod
    def hold_primary_out(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Probing:
    probes: int = 3
    interval_seconds: float = 10.0

    @property
    def span_seconds(self) -> float:
        return (self.probes - 1) * self.interval_seconds


@dataclass(frozen=True, slots=True)
class Watch:
    """One run's outcome: `took_over` when this run set the switch; `failures` in probe order."""

    probed: bool
    took_over: bool
    failures: tuple[str, ...] = ()


class Takeover:
    def __init__(
        self,
        peer: PeerHealth,
        switch: FailoverSwitch,
        latch: SwitchLatch,
        probing: Probing = Probing(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if probing.probes < 2 or probing.span_seconds <= SWITCH_CACHE_SECONDS:
            raise ValueError(
                f"takeover needs 2+ probes spanning more than {SWITCH_CACHE_SECONDS:g} s (the primary's switch cache)"
            )
        self._peer = peer
        self._switch = switch
        self._latch = latch
        self._probing = probing
        self._sleep = sleep

    def watch(self) -> Watch:
        """Probes the primary `probes` times, `interval_seconds` apart; sets the switch when none answered 200."""
        if self._switch.primary_out_of_service():
            return Watch(probed=False, took_over=False)  # already held out: the operator's to clear
        failures: list[str] = []
        for attempt in range(self._probing.probes):
            if attempt:
                self._sleep(self._probing.interval_seconds)
            failure = self._peer.failure()
            if failure is None:
                return Watch(probed=True, took_over=False, failures=tuple(failures))
            failures.append(failure)
        if self._switch.primary_out_of_service():  # set during the run (an operator): nothing to add
            return Watch(probed=True, took_over=False, failures=tuple(failures))
        self._latch.hold_primary_out()
        log.warning(
            "standby took over: the primary failed every health probe; the switch holds it out until an operator "
            "clears it",
            extra={"probes": len(failures), "failures": sorted(set(failures))},
        )
        return Watch(probed=True, took_over=True, failures=tuple(failures))
