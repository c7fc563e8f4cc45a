"""Local stand-in for whoever consumes the results and notification queues in AWS (other teams' systems).

Nothing in this repository reads `ame-envelope-results.fifo` or `ame-notifications.fifo`; locally they only
grew, and moto scans a whole FIFO queue for deduplication on every send, so order latency rose with every
order (240 notices took 5.7 s, then 14.5 s, then 24.2 s). This process receives and deletes what arrives and
logs, once a minute at most and only when something came, how many messages it drained: counts only, never
a body (bodies carry CPFs). It runs as its own local-only IAM user (`permissions.DRAIN_KIND`), allowed to
receive and delete on SQS and nothing else. `make run` starts it; `make run-dr` does not, because the
failover drill counts what sits in these queues to prove nothing was sent twice.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from chalicelib.logs import configure_logging
from chalicelib.settings import Settings
from devstack.aws import sqs_client

log = logging.getLogger("ame.drain")
SUMMARY_EVERY_SECONDS = 60.0


def drain_once(sqs: Any, queue_url: str, wait: int) -> int:
    """Receives one batch and deletes it; returns how many messages were drained."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
    if messages:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    return len(messages)


def run(settings: Settings, stop: threading.Event, wait: int = 1) -> None:
    sqs = sqs_client(settings)
    queues = [settings.envelope_results_queue, settings.notifications_queue]
    urls = {name: sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in queues}
    counts = dict.fromkeys(queues, 0)
    last_summary = time.monotonic()
    log.info("draining %s", ", ".join(queues))
    while not stop.is_set():
        try:
            for name, url in urls.items():
                counts[name] += drain_once(sqs, url, wait)
        except Exception:
            log.exception("draining failed; retrying")
            stop.wait(1.0)
        if any(counts.values()) and time.monotonic() - last_summary >= SUMMARY_EVERY_SECONDS:
            log.info("drained %s", ", ".join(f"{n} from {q}" for q, n in counts.items()))
            counts = dict.fromkeys(queues, 0)
            last_summary = time.monotonic()


def main() -> None:
    configure_logging(os.environ.get("AME_LOG_LEVEL", "INFO"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run(Settings.from_env(os.environ), stop)


if __name__ == "__main__":
    main()
