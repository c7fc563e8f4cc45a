"""Local stand-in for Lambda's SQS event source mapping and for EventBridge's schedule.

Long-polls a queue, hands batches to the Chalice SQS handler in the real Lambda event shape,
and deletes only the records the handler did not report in `batchItemFailures`; a handler
exception leaves the whole batch for redelivery, exactly as Lambda does. Alongside, it invokes
the scheduled sweeper every `AME_SWEEP_INTERVAL_SECONDS` (EventBridge's `rate(1 minute)` in AWS).
The local stack runs the two apart (`--queue-only`, `--schedule-only`), each as its function's IAM user.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from chalicelib.logs import configure_logging
from chalicelib.settings import Settings
from devstack.aws import sqs_client

log = logging.getLogger("ame.worker")
APP_DIR = Path(__file__).resolve().parent.parent / "app"


class LocalLambdaContext:
    """Counts down from the function's timeout as Lambda's does, so the SQS handler's deadline holds locally."""

    def __init__(
        self, function_name: str, timeout_seconds: int = 60, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 512
        self._clock = clock
        self._ends = clock() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - self._clock()) * 1000))


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def poll_once(sqs: Any, queue_url: str, queue_arn: str, region: str, handler: Callable[..., Any], wait: int) -> int:
    """One receive-invoke-delete cycle; returns how many messages it received."""
    messages = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=wait,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    if not messages:
        return 0
    event = {"Records": [lambda_record(m, queue_arn, region) for m in messages]}
    try:
        response = handler(event, LocalLambdaContext(getattr(handler, "__name__", "handler")))
        failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
    except Exception:
        log.exception("handler raised; the whole batch stays for redelivery")
        return len(messages)
    done = [m for m in messages if m["MessageId"] not in failed]
    if done:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    return len(messages)


def load_app() -> ModuleType:
    """Imports app/app.py the way Lambda does (its directory on the path, module name `app`)."""
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    return importlib.import_module("app")


def load_handler(name: str) -> Callable[..., Any]:
    handler: Callable[..., Any] = getattr(load_app(), name)
    return handler


def run(settings: Settings, handler_name: str, queue_name: str, stop: threading.Event, wait: int = 1) -> None:
    from chalicelib.events.orders import fenced  # a fenced primary receives nothing (the app's own check)

    handler = load_handler(handler_name)
    sqs = sqs_client(settings)
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    log.info("worker polling", extra={"queue": queue_name, "handler": handler_name})
    was_fenced = False
    while not stop.is_set():
        try:
            if fenced() != was_fenced:
                was_fenced = not was_fenced
                log.warning("fenced: not receiving while the standby serves" if was_fenced else "unfenced: polling")
            if was_fenced:
                stop.wait(1.0)
                continue
            poll_once(sqs, url, arn, settings.region, handler, wait)
        except Exception:
            log.exception("polling failed; retrying")
            stop.wait(1.0)


def scheduled_event(region: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": "",
        "region": region,
        "resources": ["arn:aws:events:local:rule/sweep-stuck-orders"],
        "detail": {},
    }


def run_schedule(settings: Settings, handler_name: str, every: float, stop: threading.Event) -> None:
    handler = load_handler(handler_name)
    while not stop.wait(every):
        try:
            handler(scheduled_event(settings.region), LocalLambdaContext(handler_name))
        except Exception:
            log.exception("scheduled handler failed; next run in %ss", every)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--handler", default="assemble_envelopes")
    parser.add_argument("--queue", default=None, help="defaults to the envelope-requests queue")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--queue-only", action="store_true", help="the SQS handler, not the sweeper's schedule")
    only.add_argument("--schedule-only", action="store_true", help="the sweeper's schedule, not the SQS handler")
    args = parser.parse_args()
    configure_logging(os.environ.get("AME_LOG_LEVEL", "INFO"))
    settings = Settings.from_env(os.environ)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sweep_every = float(os.environ.get("AME_SWEEP_INTERVAL_SECONDS", "60"))
    if args.schedule_only:
        run_schedule(settings, "sweep_stuck_orders", sweep_every, stop)
        return
    if not args.queue_only:
        schedule = (settings, "sweep_stuck_orders", sweep_every, stop)
        threading.Thread(target=run_schedule, args=schedule, daemon=True).start()
    queue = args.queue or settings.envelope_requests_queue
    # Lambda's event source mapping polls with several invocations at once: one busy with a batch's outbox
    # does not hold back the next message.
    for _ in range(pollers(os.environ) - 1):
        threading.Thread(target=run, args=(settings, args.handler, queue, stop), daemon=True).start()
    run(settings, args.handler, queue, stop)


def pollers(env: Mapping[str, str]) -> int:
    """`AME_LOCAL_POLLERS` (2): how many receive-invoke-delete loops share the queue, as concurrent invocations."""
    raw = env.get("AME_LOCAL_POLLERS", "2")
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"AME_LOCAL_POLLERS must be a whole number of at least 1, not {raw!r}")
    return int(raw)


if __name__ == "__main__":
    main()
