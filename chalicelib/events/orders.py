"""The envelope-requests queue consumer and the stuck-order sweeper schedule."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from functools import partial
from typing import Any, Protocol, TypedDict

from chalicelib import correlation
from chalicelib.bootstrap import Container, container
from chalicelib.errors import DomainError
from chalicelib.events.batch import run_records, time_left
from chalicelib.orders.services import AssembleEnvelope, SweepStuckOrders

log = logging.getLogger("ame.events")


class SqsRecord(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


class SweepReport(TypedDict):
    active: bool
    requeued: int
    took_over: bool


def fenced() -> bool:
    """This region is a fenced primary: its worker and sweeper idle (the local worker asks before receiving)."""
    return not container().region_switch.in_service()


def assemble_envelopes(records: Iterable[SqsRecord], context: object = None) -> BatchResponse:
    """One record failing, or running long, never fails or delays its neighbours: it alone is reported
    back for redelivery. Records run side by side (`AME_BATCH_CONCURRENCY`); those unfinished when the
    invocation's time runs low (Lambda's `context`) are reported too, rather than lost to a timeout.

    A fenced primary decides nothing: the batch goes back untouched (the standby's sweeper re-queues
    those orders there), and no order is marked FAILED for it."""
    c = container()
    raws = [record.to_dict() for record in records]
    if fenced():
        log.warning("fenced: envelope requests left on the queue", extra={"count": len(raws)})
        return {"batchItemFailures": [{"itemIdentifier": raw["messageId"]} for raw in raws]}
    outcome = run_records(
        [(raw["messageId"], partial(_assemble_one, c, raw)) for raw in raws],
        c.settings.batch_concurrency,
        time_left(context, c.settings.batch_deadline_margin_seconds),
    )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in outcome.redeliver]}


def _assemble_one(c: Container, raw: dict[str, Any]) -> None:
    """One record: its receive count decides whether a failure is its last (the order then FAILED)."""
    attempt = int(raw.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    # The POST's correlation id (the message's `correlation_id` attribute), else the order key: this
    # record's log lines, partner calls (X-Correlation-Id) and result/notice messages carry it.
    key = _order_key_of(raw)
    with correlation.bound(correlation.from_record(raw) or key, key):
        _assemble(c, raw, attempt)


def _order_key_of(raw: dict[str, Any]) -> str | None:
    try:
        return str(json.loads(raw["body"])["order_key"])
    except (ValueError, KeyError, TypeError):
        return None


def _assemble(c: Container, raw: dict[str, Any], attempt: int) -> None:
    try:
        body = json.loads(raw["body"])
        order_key = str(body["order_key"])
        reopen = body.get("reopen") is True  # only `make replay-dlq` writes it (README, FAILED is final)
        receipt = raw.get("receiptHandle")
        command = AssembleEnvelope(order_key, attempt, c.settings.max_receive_count, reopen, receipt)
        c.orders.assemble(command)
    except Exception as exc:
        detail = exc.message if isinstance(exc, DomainError) else type(exc).__name__
        log.warning(
            "envelope request failed; left for redelivery",
            extra={"message_id": raw.get("messageId"), "attempt": attempt, "error": detail},
            exc_info=not isinstance(exc, DomainError),
        )
        raise


def sweep_stuck_orders() -> SweepReport:
    """In the dr region, first the watch on the primary (it may take the primary over), then the sweep.

    A watch that fails (CloudWatch refusing the write) is logged as an error and the sweep still runs."""
    c = container()
    took_over = False
    if c.takeover is not None:
        try:
            took_over = c.takeover.watch().took_over
        except Exception as exc:
            log.error("the watch on the primary failed", extra={"error": type(exc).__name__}, exc_info=True)
    sweep = SweepStuckOrders(c.settings.region, c.settings.sweep_after, max_rescues=c.settings.sweep_max_rescues)
    result = c.orders.sweep(sweep)
    return {"active": result.active, "requeued": len(result.requeued), "took_over": took_over}
