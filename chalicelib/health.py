"""The deep health check Route 53 (and the local router) fail over on: our own dependencies answer.

A regional DynamoDB or SQS impairment must fail the region over, not only a dead API. Every check
runs at once under one time budget, and the verdict is cached for a few seconds: health checkers
call every few seconds from many places, and a stuck dependency must not hold the answer past the
checker's own timeout.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait

HEALTH_TTL_SECONDS = 5.0
HEALTH_BUDGET_SECONDS = 1.5


class DependencyDown(Exception):
    """A dependency answered with an error, or not at all; `reason` is a code, never data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Dependency(ABC):
    name: str

    @abstractmethod
    def check(self) -> None:
        """Returns when the dependency answered; raises (ideally DependencyDown) when it did not."""


class DeepHealth:
    def __init__(
        self,
        dependencies: Sequence[Dependency],
        ttl_seconds: float = HEALTH_TTL_SECONDS,
        budget_seconds: float = HEALTH_BUDGET_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        executor: Executor | None = None,
    ) -> None:
        self._dependencies = tuple(dependencies)
        self._ttl = ttl_seconds
        self._budget = budget_seconds
        self._monotonic = monotonic
        # Room for a check stuck past its budget while the next probe runs.
        self._executor = executor or ThreadPoolExecutor(
            max_workers=2 * max(1, len(self._dependencies)), thread_name_prefix="health"
        )
        self._lock = threading.Lock()
        self._verdict: str | None = None
        self._checked_at: float | None = None

    def failing(self) -> str | None:
        """What failed ("dynamodb did not answer within 1.5 s"), or None when every dependency answered."""
        with self._lock:
            now = self._monotonic()
            if self._checked_at is None or now - self._checked_at >= self._ttl:
                self._verdict = self._probe()
                self._checked_at = self._monotonic()
            return self._verdict

    def _probe(self) -> str | None:
        futures: list[tuple[Dependency, Future[None]]] = [
            (d, self._executor.submit(d.check)) for d in self._dependencies
        ]
        wait([f for _, f in futures], timeout=self._budget)
        problems = [_problem(d, f, self._budget) for d, f in futures]
        found = [p for p in problems if p is not None]
        return "; ".join(found) if found else None


def _problem(dependency: Dependency, future: Future[None], budget: float) -> str | None:
    if not future.done():
        return f"{dependency.name} did not answer within {budget:g} s"
    error = future.exception()
    if error is None:
        return None
    reason = error.reason if isinstance(error, DependencyDown) else type(error).__name__
    return f"{dependency.name} is unavailable ({reason})"
