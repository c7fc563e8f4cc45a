"""Fencing: a primary the standby has taken over from stops writing, so two regions never write one key.

The switch is read from the standby (dr) region, where the standby's sweeper (`chalicelib.takeover`),
operators and drills set it while the primary is impaired; failback is clearing it, a deliberate step.
Only the primary role is ever fenced by it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from chalicelib.errors import DependencyUnavailable, RegionFenced
from chalicelib.health import DeepHealth
from chalicelib.orders.ports import RegionSwitch

PRIMARY_ROLE = "primary"
SWITCH_CACHE_SECONDS = 5.0
"""How long a process keeps the switch state it read: a cleared switch unfences the primary within this."""
FENCED_MESSAGE = "this region is fenced while the standby region serves; send requests to the public name"


class FailoverSwitch(ABC):
    """The standby region's "primary out of service" switch, as last read."""

    @abstractmethod
    def primary_out_of_service(self) -> bool: ...


class Fence(RegionSwitch):
    """In service unless this region is the primary and the switch holds the primary out."""

    def __init__(self, switch: FailoverSwitch, role: str) -> None:
        self._switch = switch
        self._role = role

    def in_service(self) -> bool:
        return self._role != PRIMARY_ROLE or not self._switch.primary_out_of_service()


def ensure_serving(fence: RegionSwitch, health: DeepHealth) -> None:
    """`/v1/health`'s verdict: raises RegionFenced while fenced (even once recovered: failback is the
    operator's step), DependencyUnavailable naming what failed, else returns."""
    if not fence.in_service():
        raise RegionFenced(FENCED_MESSAGE)
    problem = health.failing()
    if problem is not None:
        raise DependencyUnavailable(f"health check failed: {problem}")
