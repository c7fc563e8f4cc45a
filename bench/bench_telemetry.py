"""What telemetry adds to one order, in-process: the correlation id, the metrics, their EMF flush and the
log lines, from the POST to the decision, with the same work done with telemetry off as the baseline.

One order, as the app does it: the API binds the correlation id and the order key, counts OrdersAccepted,
writes its log lines and flushes (one EMF document); the worker binds the id from the message's
attribute, makes `--partner-calls` partner calls in the partner pool (each with its `X-Correlation-Id`
header and a PartnerLatency observation), counts OrdersDecided and the outbox lag, builds the result
message's attributes, writes its log lines and flushes. The baseline does the same pool round trips and
nothing else. Logs and EMF go to an in-memory stream (CloudWatch's cost is not ours to time here).

Last line: `telemetry adds p50 <us> us, p95 <us> us per order`.
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from chalicelib import correlation, telemetry
from chalicelib.adapters.powertools import EmfBackend, MaskedJsonFormatter
from chalicelib.logs import MaskingFilter

LOG_LINES_PER_SIDE = 2


def one_order(pool: ThreadPoolExecutor, calls: int, on: bool, log: logging.Logger) -> float:
    started = time.perf_counter()
    if on:
        with correlation.bound(correlation.new_id()):
            correlation.bind_order_key("ord_4f1234567890123abcdef0123456789a")
            telemetry.count("OrdersAccepted", area="AREA-CREDIT")
            for _ in range(LOG_LINES_PER_SIDE):
                log.info("order accepted", extra={"status": 202})
            attributes = correlation.message_attributes()
            telemetry.flush()
        record = {"messageAttributes": {"correlation_id": {"stringValue": attributes["correlation_id"]["StringValue"]}}}
        with correlation.bound(correlation.from_record(record), "ord_4f1234567890123abcdef0123456789a"):
            futures = [pool.submit(_partner_call, True) for _ in range(calls)]
            [f.result() for f in futures]
            telemetry.count("OrdersDecided", verdict="QUORUM_MET", reason="QUORUM_MET")
            telemetry.observe_ms("OutboxLag", 12.0, what="result")
            correlation.message_attributes()
            for _ in range(LOG_LINES_PER_SIDE):
                log.info("order decided", extra={"attempt": 1})
            telemetry.flush()
    else:
        futures = [pool.submit(_partner_call, False) for _ in range(calls)]
        [f.result() for f in futures]
    return time.perf_counter() - started


def _partner_call(on: bool) -> None:
    if on:
        correlation.headers()
        telemetry.observe_ms("PartnerLatency", 3.0, partner="powers")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--partner-calls", type=int, default=6)
    args = parser.parse_args(argv)

    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(MaskedJsonFormatter())
    log = logging.getLogger("ame.bench")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    telemetry.set_backend(EmfBackend(stream=sink))

    on: list[float] = []
    off: list[float] = []
    with (
        correlation.ContextExecutor(max_workers=8) as traced,
        ThreadPoolExecutor(max_workers=8) as plain,
    ):
        for _ in range(200):  # warm up both paths
            one_order(traced, args.partner_calls, True, log)
            one_order(plain, args.partner_calls, False, log)
        for _ in range(args.orders):  # interleaved, so machine noise falls on both alike
            on.append(one_order(traced, args.partner_calls, True, log))
            off.append(one_order(plain, args.partner_calls, False, log))
        sink.seek(0)
        sink.truncate()
        one_order(traced, args.partner_calls, True, log)
        lines = sink.getvalue().splitlines()
    emf = sum(1 for line in lines if line.startswith('{"_aws"'))
    us = 1e6
    print(f"orders {args.orders}, partner calls per order {args.partner_calls}")
    print(f"per order: {len(lines) - emf} log lines, {emf} EMF documents, {sum(map(len, lines))} bytes")
    print(f"with telemetry    p50 {percentile(on, 50) * us:7.1f} us  p95 {percentile(on, 95) * us:7.1f} us")
    print(f"without (base)    p50 {percentile(off, 50) * us:7.1f} us  p95 {percentile(off, 95) * us:7.1f} us")
    deltas = sorted(a - b for a, b in zip(on, off, strict=True))
    p50, p95 = percentile(deltas, 50) * us, percentile(deltas, 95) * us
    print(f"telemetry adds p50 {p50:.0f} us, p95 {p95:.0f} us per order")


if __name__ == "__main__":
    main()
