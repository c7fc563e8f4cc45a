"""Moves messages from a dead-letter queue back to its source queue, for replay after a fix.

    python -m chalicelib.commands.replay_dlq --target local
    AWS_REGION=us-east-1 python -m chalicelib.commands.replay_dlq --target aws   # your credential chain

FAILED is final for every other path: a replay is the only way to re-open a FAILED order. Each replayed
envelope request carries `"reopen": true`, so its order, if FAILED, goes back to PROCESSING and is decided
(and its result published) again; decided orders are untouched (idempotent handler). The command says so.
Exit status 2 when the target cannot be resolved (nothing moved).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from chalicelib.commands.target import CommandTarget, add_target_argument, run_on_target
from chalicelib.settings import ENVELOPE_REQUESTS_QUEUE, dead_letter_queue_name, is_fifo


def reopening(body: str) -> str:
    """An envelope request marked as an operator's replay (the one request that may re-open a FAILED order);
    any other body unchanged."""
    try:
        request = json.loads(body)
    except ValueError:
        return body
    if not isinstance(request, dict) or "order_key" not in request:
        return body
    return json.dumps({**request, "reopen": True})


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
                MessageBody=reopening(message["Body"]),
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
        return (
            f"replayed {moved} message(s) from {dead_letter_queue_name(args.queue)} to {args.queue}; "
            "each replayed order that was FAILED is re-opened (PROCESSING) and decided again"
        )

    return run_on_target(args, replay_on, refused="nothing replayed", stopped="replay stopped")


if __name__ == "__main__":
    raise SystemExit(main())
