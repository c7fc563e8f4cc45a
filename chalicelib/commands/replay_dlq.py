"""Moves messages from a dead-letter queue back to its source queue, for replay after a fix.

Works the same against AWS (no AWS_ENDPOINT_URL) and the local endpoint. A replayed order
that was marked FAILED is processed again; decided orders are untouched (idempotent handler).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import boto3

from chalicelib.settings import ENVELOPE_REQUESTS_QUEUE, dead_letter_queue_name, is_fifo, region_from


def replay(sqs: Any, source_queue: str, limit: int | None = None) -> int:
    source_url = sqs.get_queue_url(QueueName=source_queue)["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=dead_letter_queue_name(source_queue))["QueueUrl"]
    fifo = is_fifo(source_queue)
    moved = 0
    while limit is None or moved < limit:
        batch = min(10, limit - moved) if limit is not None else 10
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=batch,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            AttributeNames=["MessageGroupId"],
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            group = message.get("Attributes", {}).get("MessageGroupId", "replay")
            sqs.send_message(
                QueueUrl=source_url,
                MessageBody=message["Body"],
                MessageAttributes=message.get("MessageAttributes", {}),
                **({"MessageGroupId": group, "MessageDeduplicationId": message["MessageId"]} if fifo else {}),
            )
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queue", default=ENVELOPE_REQUESTS_QUEUE, help="source queue name")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    sqs = boto3.client(
        "sqs", region_name=region_from(os.environ), endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None
    )
    moved = replay(sqs, args.queue, args.limit)
    print(f"replayed {moved} message(s) from {dead_letter_queue_name(args.queue)} to {args.queue}")


if __name__ == "__main__":
    main()
