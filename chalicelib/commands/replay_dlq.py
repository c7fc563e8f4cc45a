"""Moves messages from a dead-letter queue back to its source queue, for replay after a fix.

    python -m chalicelib.commands.replay_dlq --target local
    AWS_REGION=us-east-1 python -m chalicelib.commands.replay_dlq --target aws   # your credential chain

A replayed order that was marked FAILED is processed again; decided orders are untouched
(idempotent handler). Exit status 2 when the target cannot be resolved (nothing moved).
"""

from __future__ import annotations

import argparse
from typing import Any

from chalicelib.commands.target import CommandTarget, add_target_argument, run_on_target
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

    def replay_on(target: CommandTarget) -> str:
        import boto3

        sqs = boto3.client("sqs", region_name=target.region, endpoint_url=target.endpoint_url)
        moved = replay(sqs, args.queue, args.limit)
        return f"replayed {moved} message(s) from {dead_letter_queue_name(args.queue)} to {args.queue}"

    return run_on_target(args, replay_on, refused="nothing replayed", stopped="replay stopped")


if __name__ == "__main__":
    raise SystemExit(main())
