"""Per-partner resilience: the circuit breaker, the one retry layer and its budget, the partner metrics."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib import telemetry
from chalicelib.adapters import http_partners as http
from chalicelib.adapters.resilience import (
    PartnerCallFailed,
    Resilience,
    ResilienceSettings,
    RetryBudget,
)
from chalicelib.errors import PartnerCircuitOpen, PartnerUnavailable
from tests.unit.fake_http import FakePool


class Recorder:
    def __init__(self) -> None:
        self.metrics: list[tuple[str, float, dict[str, str]]] = []

    def add(self, metric: str, value: float, unit: str, dimensions: dict[str, str]) -> None:
        self.metrics.append((metric, value, dimensions))

    def named(self, metric: str) -> list[dict[str, str]]:
        return [dims for name, _, dims in self.metrics if name == metric]


@pytest.fixture
def metrics() -> Iterator[Recorder]:
    recorder = Recorder()
    telemetry.set_backend(recorder)
    yield recorder
    telemetry.set_backend(telemetry._Discard())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Partner:
    """A scripted partner: each call pops the next outcome (an exception to raise, or a value)."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def down(kind: str = "5xx") -> PartnerCallFailed:
    return PartnerCallFailed("powers", "HTTP 503" if kind == "5xx" else kind, kind)


def resilience(clock: Clock, sleeps: list[float] | None = None, **settings: float) -> Resilience:
    base: dict[str, float] = {"fail_max": 3, "reset_timeout": 30.0, "retries": 0}
    chosen = ResilienceSettings(**{**base, **settings})  # type: ignore[arg-type]
    return Resilience("powers", chosen, clock=clock, sleep=(sleeps.append if sleeps is not None else lambda _: None))


def test_the_breaker_opens_after_fail_max_failures_in_a_row_and_then_fails_fast(metrics: Recorder) -> None:
    clock, partner = Clock(), Partner(down())
    guard = resilience(clock)
    for _ in range(3):
        with pytest.raises(PartnerCallFailed):
            guard.call(partner)
    assert guard.breaker.state == "open"
    with pytest.raises(PartnerCircuitOpen) as error:
        guard.call(partner)
    assert partner.calls == 3, "an open breaker does not call the partner"
    assert error.value.code == "PARTNER_CIRCUIT_OPEN" and isinstance(error.value, PartnerUnavailable)
    assert metrics.named("BreakerState") == [{"partner": "powers", "state": "open"}]
    assert {"partner": "powers", "kind": "breaker_open"} in metrics.named("PartnerErrors")


def test_a_success_between_failures_resets_the_count() -> None:
    clock = Clock()
    guard = resilience(clock)
    partner = Partner(down(), down(), "ok", down(), down(), "ok")
    for _ in range(6):
        with contextlib.suppress(PartnerCallFailed):
            guard.call(partner)
    assert guard.breaker.state == "closed" and partner.calls == 6


def test_after_the_reset_timeout_one_trial_call_closes_a_recovered_partner(metrics: Recorder) -> None:
    clock, partner = Clock(), Partner(down(), down(), down(), "ok")
    guard = resilience(clock)
    for _ in range(3):
        with pytest.raises(PartnerCallFailed):
            guard.call(partner)
    clock.now += 29.9
    with pytest.raises(PartnerCircuitOpen):
        guard.call(partner)
    clock.now += 0.2
    assert guard.call(partner) == "ok"
    assert guard.breaker.state == "closed"
    states = [dims["state"] for dims in metrics.named("BreakerState")]
    assert states == ["open", "half_open", "closed"]


def test_a_failed_trial_call_opens_the_breaker_for_another_reset_timeout() -> None:
    clock, partner = Clock(), Partner(down())
    guard = resilience(clock)
    for _ in range(3):
        with pytest.raises(PartnerCallFailed):
            guard.call(partner)
    clock.now += 31
    with pytest.raises(PartnerCallFailed):
        guard.call(partner)  # the trial
    assert guard.breaker.state == "open"
    clock.now += 29
    with pytest.raises(PartnerCircuitOpen):
        guard.call(partner)
    assert partner.calls == 4


def test_only_one_trial_call_at_a_time_while_half_open() -> None:
    clock = Clock()
    guard = resilience(clock)
    for _ in range(3):
        with pytest.raises(PartnerCallFailed):
            guard.call(Partner(down()))
    clock.now += 31
    inside, release = threading.Event(), threading.Event()

    def slow_trial() -> str:
        inside.set()
        release.wait(5)
        return "ok"

    with ThreadPoolExecutor(max_workers=1) as pool:
        trial = pool.submit(guard.call, slow_trial)
        assert inside.wait(5)
        with pytest.raises(PartnerCircuitOpen):
            guard.call(Partner("ok"))
        release.set()
        assert trial.result() == "ok"
    assert guard.breaker.state == "closed"


def test_answers_that_are_not_outages_never_open_the_breaker() -> None:
    clock, partner = Clock(), Partner(down("bad_answer"))
    guard = resilience(clock)
    for _ in range(10):
        with pytest.raises(PartnerCallFailed):
            guard.call(partner)
    assert guard.breaker.state == "closed" and partner.calls == 10


def test_the_breaker_does_not_serialise_calls() -> None:
    """pybreaker's own `call` holds a lock around the guarded call; ours must let calls overlap."""
    guard = resilience(Clock())
    both_inside = threading.Barrier(2, timeout=5)

    def call() -> str:
        both_inside.wait()  # breaks (BrokenBarrierError) unless both calls are inside at once
        return "ok"

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(lambda _: guard.call(call), range(2))) == ["ok", "ok"]


@pytest.mark.parametrize("kind", ["5xx", "timeout", "connection"])
def test_a_transient_failure_is_retried_after_a_capped_jittered_backoff(kind: str) -> None:
    sleeps: list[float] = []
    partner = Partner(down(kind), down(kind), "ok")
    guard = resilience(Clock(), sleeps, retries=2, backoff_base=0.05, backoff_max=0.08)
    assert guard.call(partner) == "ok"
    assert partner.calls == 3 and len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.05 and 0 <= sleeps[1] <= 0.08


def test_attempts_stop_at_retries_plus_one() -> None:
    partner = Partner(down())
    guard = resilience(Clock(), retries=2, fail_max=100)
    with pytest.raises(PartnerCallFailed):
        guard.call(partner)
    assert partner.calls == 3


def test_a_bad_answer_and_an_open_breaker_are_not_retried() -> None:
    partner = Partner(down("bad_answer"))
    guard = resilience(Clock(), retries=3)
    with pytest.raises(PartnerCallFailed):
        guard.call(partner)
    assert partner.calls == 1
    failing = Partner(down())
    opened = resilience(Clock(), retries=3, fail_max=2)
    with pytest.raises(PartnerCircuitOpen):
        opened.call(failing)  # 2 attempts open it; the third attempt is refused, not sent
    assert failing.calls == 2


def test_retries_stop_when_the_budget_is_spent() -> None:
    partner = Partner(down())
    guard = resilience(Clock(), retries=1, fail_max=1000, budget_ratio=0.0, budget_burst=2.0)
    for _ in range(5):
        with pytest.raises(PartnerCallFailed):
            guard.call(partner)
    assert partner.calls == 5 + 2, "two retries from the burst, then none"


def test_calls_refill_the_budget_by_their_ratio() -> None:
    budget = RetryBudget(ratio=0.5, burst=1.0)
    assert budget.withdraw() and not budget.withdraw()
    budget.deposit()
    assert not budget.withdraw()
    budget.deposit()
    assert budget.withdraw()


BASE = "http://partner.test"


def test_the_pool_retries_nothing_itself_so_there_is_one_retry_layer() -> None:
    settings = http.HttpSettings(resilience=ResilienceSettings(retries=1))
    assert http.new_pool(settings).connection_pool_kw["retries"].total is False
    pool = FakePool()
    client = http.PartnerClient("parametrizer", BASE, pool.as_pool(), settings)
    client.resilience = Resilience("parametrizer", settings.resilience, sleep=lambda _: None)
    pool.add("GET", f"{BASE}/areas/A", status=503)
    with pytest.raises(PartnerUnavailable) as error:
        client.get_json("/areas/A")
    assert len(pool.calls) == 2, "one call and the one retry"
    assert error.value.detail == "HTTP 503"


def test_partner_calls_are_measured_and_their_errors_counted_by_kind(metrics: Recorder) -> None:
    settings = http.HttpSettings(resilience=ResilienceSettings(retries=0))
    pool = FakePool()
    client = http.PartnerClient("domains", BASE, pool.as_pool(), settings)
    pool.add("GET", f"{BASE}/ok", json_body={"a": 1})
    pool.add("GET", f"{BASE}/down", status=502)
    pool.add("GET", f"{BASE}/odd", status=200, body="[]")
    assert client.get_json("/ok") == {"a": 1}
    for path in ("/down", "/odd", "/nowhere"):
        with pytest.raises(PartnerUnavailable):
            client.get_json(path)
    assert metrics.named("PartnerLatency") == [{"partner": "domains"}] * 4
    assert metrics.named("PartnerErrors") == [
        {"partner": "domains", "kind": "5xx"},
        {"partner": "domains", "kind": "bad_answer"},
        {"partner": "domains", "kind": "connection"},
    ]


def test_an_open_breaker_fails_fast_without_waiting_for_the_bulkhead() -> None:
    """A call refused by the open breaker neither sends nor queues behind the in-flight cap."""
    settings = http.HttpSettings(max_in_flight=1, resilience=ResilienceSettings(retries=0, fail_max=1))
    pool = FakePool()
    client = http.PartnerClient("powers", BASE, pool.as_pool(), settings)
    pool.add("GET", f"{BASE}/x", status=500)
    with pytest.raises(PartnerUnavailable):
        client.get_json("/x")
    client._in_flight.acquire()  # the bulkhead is full
    try:
        with pytest.raises(PartnerCircuitOpen):
            client.get_json("/x")
    finally:
        client._in_flight.release()
    assert len(pool.calls) == 1
