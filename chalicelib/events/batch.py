"""Runs one SQS batch's records side by side, each with its own outcome, within the invocation's time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

log = logging.getLogger("ame.events")

TimeLeft = Callable[[], float]
"""Seconds left before the handler must answer; at or below 0 it answers at once."""


def time_left(context: object, margin_seconds: float) -> TimeLeft | None:
    """From Lambda's context (`get_remaining_time_in_millis`), keeping a margin to answer in.

    No context (a direct call, `chalice local`, tests): None, no deadline."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    return lambda: float(remaining()) / 1000 - margin_seconds


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    failed: tuple[str, ...] = ()
    """Records whose work raised, in batch order."""
    unfinished: tuple[str, ...] = ()
    """Records still queued or running when the time ran out, in batch order."""

    @property
    def redeliver(self) -> tuple[str, ...]:
        return self.failed + self.unfinished


def run_records(
    records: Sequence[tuple[str, Callable[[], object]]], concurrency: int, deadline: TimeLeft | None = None
) -> BatchOutcome:
    """At most `concurrency` records at once, so a heavy record holds one slot, never the whole batch.

    Its own pool, not the partner executor: records wait on partner calls, and a record waiting in the
    pool its calls need could deadlock it. A record still running at the deadline cannot be stopped
    (a thread); it is handed back for redelivery and may finish in the background, which is harmless
    because assembly is idempotent. Records not yet started are cancelled."""
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="records")
    futures: list[tuple[str, Future[object]]] = [(message_id, pool.submit(work)) for message_id, work in records]
    pending = {future for _, future in futures}
    try:
        while pending:
            timeout = None if deadline is None else deadline()
            if timeout is not None and timeout <= 0:
                break
            _, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
    finally:
        pool.shutdown(wait=not pending, cancel_futures=True)
    unfinished = tuple(m for m, f in futures if f.cancelled() or not f.done())
    failed = tuple(m for m, f in futures if m not in unfinished and f.exception() is not None)
    if unfinished:
        log.warning("time running out: records handed back unfinished", extra={"count": len(unfinished)})
    return BatchOutcome(failed, unfinished)
