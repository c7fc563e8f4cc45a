"""Per-partner resilience: a circuit breaker, the one retry layer (with a budget) and the partner metrics.

Every partner call of a process goes through its partner's `Resilience.call`:

- **Circuit breaker** (pybreaker's state machine): `fail_max` transient failures in a row open it; while
  open, calls fail at once with `PartnerCircuitOpen` (`PARTNER_CIRCUIT_OPEN`) instead of holding a worker
  thread for the timeout; after `reset_timeout` seconds one trial call is let through (half-open), whose
  outcome closes or re-opens it. Only transient failures (timeout, connection, 5xx) count; a 404 or a
  malformed answer is the partner answering.
- **Retries**: the only retry layer of a partner call (urllib3/requests retry nothing): `retries` more
  attempts on a transient failure, waiting a capped, fully jittered exponential backoff, and only while
  the partner's retry budget has a token: every call adds `budget_ratio` of a token (at most
  `budget_burst`), every retry spends one, so retries stay about `budget_ratio` of calls during an outage.
- The **bulkhead** is the caller's: `PartnerClient`'s in-flight cap (`AME_PARTNER_MAX_IN_FLIGHT`).

pybreaker's own `call` holds the breaker's lock for the whole guarded call (danielfm/pybreaker#55), which
would serialise every call to a partner; so the HTTP call runs outside it, and only its outcome is then
replayed through the breaker.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pybreaker
from tenacity import RetryCallState, Retrying, retry_base, stop_after_attempt, wait_random_exponential

from chalicelib import telemetry
from chalicelib.errors import PartnerCircuitOpen, PartnerUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_KINDS = frozenset({"timeout", "connection", "5xx"})
"""The failures that count against a partner's breaker and are worth a retry."""


class PartnerCallFailed(PartnerUnavailable):
    """One attempt's failure, with its kind (`timeout`, `connection`, `5xx`, or `bad_answer`)."""

    def __init__(self, partner: str, detail: str, kind: str) -> None:
        super().__init__(partner, detail)
        self.kind = kind

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT_KINDS


@dataclass(frozen=True, slots=True)
class ResilienceSettings:
    fail_max: int = 5
    """Transient failures in a row that open a partner's breaker (`AME_PARTNER_BREAKER_FAIL_MAX`)."""
    reset_timeout: float = 30.0
    """Seconds a breaker stays open before one trial call (`AME_PARTNER_BREAKER_RESET_SECONDS`)."""
    retries: int = 1
    """More attempts after a transient failure (`AME_PARTNER_RETRIES`)."""
    backoff_base: float = 0.05
    backoff_max: float = 0.5
    """The wait before retry n is uniform in [0, min(backoff_max, backoff_base * 2**n)] seconds."""
    budget_ratio: float = 0.2
    """Retries allowed per call, sustained (`AME_PARTNER_RETRY_BUDGET`)."""
    budget_burst: float = 10.0
    """Retries allowed at once before calls refill the budget."""


class RetryBudget:
    """A token bucket refilled by calls, not by time: retries stay a fraction of calls."""

    def __init__(self, ratio: float, burst: float) -> None:
        self._ratio = ratio
        self._burst = burst
        self._tokens = burst
        self._lock = threading.Lock()

    def deposit(self) -> None:
        with self._lock:
            self._tokens = min(self._burst, self._tokens + self._ratio)

    def withdraw(self) -> bool:
        with self._lock:
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


_STATE_NAMES = {
    pybreaker.STATE_CLOSED: "closed",
    pybreaker.STATE_OPEN: "open",
    pybreaker.STATE_HALF_OPEN: "half_open",
}


class _Transitions(pybreaker.CircuitBreakerListener):
    def __init__(self, on_change: Callable[[str], None]) -> None:
        self._on_change = on_change

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        self._on_change(_STATE_NAMES.get(new_state.name, new_state.name))


def _replay(outcome: BaseException | None) -> None:
    if outcome is not None:
        raise outcome


class PartnerBreaker:
    """pybreaker's state machine with the guarded call outside its lock, and `clock` deciding the reset."""

    def __init__(
        self, partner: str, fail_max: int, reset_timeout: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.partner = partner
        self._reset_timeout = reset_timeout
        self._clock = clock
        self._opened_at = 0.0
        self._trial = threading.Lock()
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=max(1, fail_max),
            reset_timeout=reset_timeout,
            exclude=[lambda exc: not (isinstance(exc, PartnerCallFailed) and exc.transient)],
            listeners=[_Transitions(self._changed)],
            name=partner,
        )

    @property
    def state(self) -> str:
        return _STATE_NAMES.get(self._breaker.current_state, self._breaker.current_state)

    def _changed(self, state: str) -> None:
        if state == "open":
            self._opened_at = self._clock()
            log.warning("partner circuit opened", extra={"partner": self.partner})
        telemetry.count("BreakerState", partner=self.partner, state=state)

    def call(self, send: Callable[[], T]) -> T:
        """`send()` unless the breaker is open; its failure or success then moves the breaker."""
        trial = self._admit()
        try:
            try:
                result = send()
            except PartnerUnavailable as exc:
                self._record(exc)
                raise
            self._record(None)
            return result
        finally:
            if trial:
                self._trial.release()

    def _admit(self) -> bool:
        """False: a normal call; True: the one trial call of a half-open breaker; raises while open."""
        state = self._breaker.current_state
        if state == pybreaker.STATE_CLOSED:
            return False
        if state == pybreaker.STATE_OPEN and self._clock() - self._opened_at < self._reset_timeout:
            raise PartnerCircuitOpen(self.partner)
        if not self._trial.acquire(blocking=False):
            raise PartnerCircuitOpen(self.partner)  # another call is the trial
        if self._breaker.current_state == pybreaker.STATE_OPEN:
            self._breaker.half_open()
        return True

    def _record(self, outcome: PartnerUnavailable | None) -> None:
        # The breaker counts it (or was already open) and re-raises; the caller raises the real failure.
        with contextlib.suppress(pybreaker.CircuitBreakerError, PartnerUnavailable):
            self._breaker.call(_replay, outcome)


class _RetryTransient(retry_base):
    """Retry a transient failure, never an open breaker, and only with a token from the budget."""

    def __init__(self, budget: RetryBudget, attempts: int) -> None:
        self._budget = budget
        self._attempts = attempts

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        if outcome is None or not outcome.failed or retry_state.attempt_number >= self._attempts:
            return False  # tenacity asks before its stop condition: the last attempt must spend no token
        exc = outcome.exception()
        return isinstance(exc, PartnerCallFailed) and exc.transient and self._budget.withdraw()


class Resilience:
    """One partner's breaker, retry policy and budget; `call` is the only way its requests are sent."""

    def __init__(
        self,
        partner: str,
        settings: ResilienceSettings,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.partner = partner
        self.breaker = PartnerBreaker(partner, settings.fail_max, settings.reset_timeout, clock)
        self.budget = RetryBudget(settings.budget_ratio, settings.budget_burst)
        self._settings = settings
        self._sleep = sleep

    def call(self, attempt: Callable[[], T]) -> T:
        self.budget.deposit()
        attempts = 1 + max(0, self._settings.retries)
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_random_exponential(multiplier=self._settings.backoff_base, max=self._settings.backoff_max),
            retry=_RetryTransient(self.budget, attempts),
            sleep=self._sleep,
            reraise=True,
        )
        result: T = retrying(self._guarded, attempt)
        return result

    def _guarded(self, attempt: Callable[[], T]) -> T:
        try:
            return self.breaker.call(attempt)
        except PartnerCircuitOpen:
            telemetry.count("PartnerErrors", partner=self.partner, kind="breaker_open")
            raise
