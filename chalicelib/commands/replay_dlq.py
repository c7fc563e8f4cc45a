"""Moves messages from a dead-letter queue back to its source queue, for replay after a fix.

    python -m chalicelib.commands.replay_dlq --target local
    AWS_REGION=us-east-1 python -m chalicelib.commands.replay_dlq --target aws   # your credential chain

A replayed order that was marked FAILED is processed again; decided orders are untouched
(idempotent handler). Exit status 2 when the target cannot be resolved (nothing moved).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from chalicelib.commands.target import TargetError, add_target_argument, aws_errors, enter_target
from chalicelib.settings import ENVELOPE_REQUESTS_QUEUE, dead_letter_queue_name, is_fifo


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_target_argument(parser)
    parser.add_argument("--queue", default=ENVELOPE_REQUESTS_QUEUE, help="source queue name")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        target = enter_target(args)
    except TargetError as exc:
        print(f"nothing replayed: {exc}", file=sys.stderr)
        return 2
    import boto3

    sqs = boto3.client("sqs", region_name=target.region, endpoint_url=target.endpoint_url)
    try:
        moved = replay(sqs, args.queue, args.limit)
    except aws_errors() as exc:
        print(f"replay stopped: {exc}", file=sys.stderr)
        return 1
    print(f"replayed {moved} message(s) from {dead_letter_queue_name(args.queue)} to {args.queue}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
