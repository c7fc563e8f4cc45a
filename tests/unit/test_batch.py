"""One SQS batch's records side by side: a heavy record delays nobody, failures stay per record, the
pool is bounded and records unfinished when the invocation's time runs low are handed back."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import ModuleType
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.events import batch as batch_module
from chalicelib.events.batch import run_records, time_left
from chalicelib.orders.model import Order
from chalicelib.settings import PARTNER_URL_VARIABLES, ConfigurationError, Settings
from tests.unit.test_api import post, sqs_event
from tests.unit.test_services import body
from tests.unit.tokens import signed

WAIT = 10.0
"""Only a bound on a hang if the code under test is wrong; no assertion depends on it."""


def test_a_heavy_record_does_not_hold_up_the_others() -> None:
    # GIVEN a batch whose first record blocks until all the others have finished, two at a time
    finished: list[str] = []
    others_done = threading.Event()
    lock = threading.Lock()

    def light(name: str) -> Callable[[], None]:
        def work() -> None:
            with lock:
                finished.append(name)
                if len(finished) == 5:
                    others_done.set()

        return work

    def heavy() -> None:
        others_done.wait(WAIT)
        with lock:
            finished.append("heavy")

    records = [("heavy", heavy), *((f"light-{i}", light(f"light-{i}")) for i in range(5))]
    # WHEN the batch runs THEN the light records all finish before the heavy one, and nothing fails
    outcome = run_records(records, concurrency=2)
    assert finished[-1] == "heavy" and sorted(finished[:-1]) == [f"light-{i}" for i in range(5)]
    assert outcome.redeliver == ()


def test_each_failure_is_reported_by_its_own_record_only() -> None:
    def ok() -> None:
        return None

    def boom() -> None:
        raise RuntimeError("partner down")

    outcome = run_records([("a", ok), ("b", boom), ("c", ok), ("d", boom)], concurrency=4)
    assert (outcome.failed, outcome.unfinished) == (("b", "d"), ())


def test_no_more_records_run_at_once_than_the_bound() -> None:
    # GIVEN 9 records that each wait until two others are in flight with it (3 at a time)
    in_flight = max_in_flight = 0
    threads: set[str] = set()
    lock = threading.Lock()
    together = threading.Barrier(3, timeout=WAIT)

    def work() -> None:
        nonlocal in_flight, max_in_flight
        with lock:
            in_flight += 1
            max_in_flight = max(max_in_flight, in_flight)
            threads.add(threading.current_thread().name)
        together.wait()
        with lock:
            in_flight -= 1

    outcome = run_records([(str(i), work) for i in range(9)], concurrency=3)
    # THEN the bound was reached and never passed, by at most 3 threads
    assert outcome.redeliver == ()
    assert max_in_flight == 3 and len(threads) == 3


def test_records_unfinished_when_time_runs_low_are_handed_back() -> None:
    # GIVEN one slot, and a deadline that passes once the quick record has finished, while the slow one
    # holds the slot and a third waits for it
    quick_done, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def quick() -> None:
        ran.append("quick")
        quick_done.set()

    def slow() -> None:
        release.wait(WAIT)
        ran.append("slow")

    def queued() -> None:
        ran.append("queued")

    def seconds_left() -> float:
        return 0.0 if quick_done.is_set() else 60.0

    try:
        outcome = run_records([("quick", quick), ("slow", slow), ("queued", queued)], 1, seconds_left)
    finally:
        release.set()
    # THEN the quick record counts as done, the slow and the never-started one go back for redelivery
    assert (outcome.failed, outcome.unfinished) == ((), ("slow", "queued"))
    assert "queued" not in ran


class FakeContext:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_the_deadline_comes_from_lambdas_context_less_the_margin() -> None:
    left = time_left(FakeContext(5_000), margin_seconds=3.0)
    assert left is not None and left() == pytest.approx(2.0)
    assert time_left(None, 3.0) is None  # a direct call or chalice local: no deadline
    assert time_left(object(), 3.0) is None


def test_the_batch_concurrency_setting_must_be_a_positive_integer() -> None:
    env = dict.fromkeys(PARTNER_URL_VARIABLES.values(), "http://partners.invalid")
    assert Settings.from_env(env).batch_concurrency == 4
    assert Settings.from_env({**env, "AME_BATCH_CONCURRENCY": "7"}).batch_concurrency == 7
    with pytest.raises(ConfigurationError, match="AME_BATCH_CONCURRENCY"):
        Settings.from_env({**env, "AME_BATCH_CONCURRENCY": "0"})


class HeavyFirst:
    """Three orders in one batch; the first (heavy) cannot be loaded until `release` is set (by default,
    once the two light ones are published)."""

    def __init__(
        self, chalice_module: ModuleType, container: bootstrap.Container, release: threading.Event | None = None
    ) -> None:
        with signed(chalice_module) as c:
            self.heavy, *self.light = (post(c, body()).json_body["order_key"] for _ in range(3))
        self.published: list[str] = []
        self.light_published, self.heavy_published = threading.Event(), threading.Event()
        self.release = release or self.light_published
        publisher, repository = container.orders.publisher, container.orders.repository
        publish, load = publisher.publish_result, repository.get

        def publish_result(order: Order) -> None:
            publish(order)
            self.published.append(order.order_key)
            if set(self.light) <= set(self.published):
                self.light_published.set()
            if order.order_key == self.heavy:
                self.heavy_published.set()

        def get(order_key: str) -> Order | None:
            if order_key == self.heavy:
                self.release.wait(WAIT)
            return load(order_key)

        publisher.publish_result = publish_result  # type: ignore[method-assign]
        repository.get = get  # type: ignore[method-assign]
        self.event: dict[str, Any] = sqs_event(*(json.dumps({"order_key": k}) for k in (self.heavy, *self.light)))
        self.heavy_message_id = self.event["Records"][0]["messageId"]


def test_the_sqs_handler_publishes_light_orders_while_a_heavy_one_is_still_deciding(
    chalice_module: ModuleType, container: bootstrap.Container
) -> None:
    # GIVEN a batch whose heavy order is held until the two light ones are published
    batch = HeavyFirst(chalice_module, container)
    # WHEN the batch arrives (Lambda's context with a minute left) THEN the light orders are published
    # first, the heavy one last, and no record is handed back
    response = chalice_module.assemble_envelopes(batch.event, FakeContext(60_000))
    assert response["batchItemFailures"] == []
    assert sorted(batch.published[:2]) == sorted(batch.light) and batch.published[2] == batch.heavy


def test_the_sqs_handler_hands_back_a_record_still_running_when_lambdas_time_runs_low(
    chalice_module: ModuleType, container: bootstrap.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a heavy order held until the handler has answered, and Lambda's remaining time falling to
    # the margin (3 s) once both light records are done (their futures, as the handler sees them)
    batch = HeavyFirst(chalice_module, container, release=threading.Event())
    futures: list[Future[object]] = []

    class RecordingPool(ThreadPoolExecutor):
        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            futures.append(super().submit(fn, *args, **kwargs))
            return futures[-1]

    class Countdown(FakeContext):
        def get_remaining_time_in_millis(self) -> int:
            return 3_000 if all(f.done() for f in futures[1:]) else 60_000

    monkeypatch.setattr(batch_module, "ThreadPoolExecutor", RecordingPool)
    try:
        response = chalice_module.assemble_envelopes(batch.event, Countdown(0))
        published_in_time = list(batch.published)
    finally:
        batch.release.set()
    # THEN only the heavy record is handed back for redelivery; it goes on in the background
    assert len(futures) == 3
    assert response["batchItemFailures"] == [{"itemIdentifier": batch.heavy_message_id}]
    assert sorted(published_in_time) == sorted(batch.light)
    assert batch.heavy_published.wait(WAIT)
