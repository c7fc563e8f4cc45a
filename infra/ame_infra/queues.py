"""The app's SQS queues in one region, each with a dead-letter queue it redrives to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ame_infra.contract import QueueSpec

DLQ_RETENTION_SECONDS = 14 * 24 * 3600
"""The SQS maximum: operators get two weeks to replay (`make replay-dlq`)."""
KMS_DATA_KEY_REUSE_SECONDS = 300
"""SQS caches a data key this long: fewer KMS calls per message, same CMK."""


LAMBDA_VISIBILITY_FACTOR = 6
"""AWS's rule for SQS event sources: visibility at least six times the consuming function's timeout,
so a batch Lambda retries (throttled, or still running) is not redelivered meanwhile."""


def visibility_timeout(consumer_timeout_seconds: int | None) -> int | None:
    """Six consumer timeouts; a queue no Lambda here consumes keeps SQS's default (its readers, other
    areas' systems, set their own on each receive)."""
    return None if consumer_timeout_seconds is None else LAMBDA_VISIBILITY_FACTOR * consumer_timeout_seconds


@dataclass(frozen=True)
class MessageQueuesArgs:
    queues: tuple[QueueSpec, ...]
    key_arn: pulumi.Input[str]
    max_receive_count: int
    consumer_timeouts: Mapping[str, int]
    """Queue name -> the timeout of the function its SQS event source invokes (`functions.consumer_timeouts`)."""


@dataclass(frozen=True)
class DeployedQueue:
    spec: QueueSpec
    queue: aws.sqs.Queue
    dlq: aws.sqs.Queue


class MessageQueues(pulumi.ComponentResource):
    by_key: dict[str, DeployedQueue]

    def __init__(self, name: str, args: MessageQueuesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:messaging:MessageQueues", name, None, opts)
        self.by_key = {spec.key: self._queue(spec, args) for spec in args.queues}
        self.register_outputs({key: q.queue.url for key, q in self.by_key.items()})

    def _queue(self, spec: QueueSpec, args: MessageQueuesArgs) -> DeployedQueue:
        child = pulumi.ResourceOptions(parent=self)
        dlq = aws.sqs.Queue(
            spec.dlq_name,
            name=spec.dlq_name,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            fifo_queue=spec.fifo or None,
            kms_master_key_id=args.key_arn,
            kms_data_key_reuse_period_seconds=KMS_DATA_KEY_REUSE_SECONDS,
            opts=child,
        )
        queue = aws.sqs.Queue(
            spec.name,
            name=spec.name,
            visibility_timeout_seconds=visibility_timeout(args.consumer_timeouts.get(spec.name)),
            message_retention_seconds=4 * 24 * 3600,
            redrive_policy=pulumi.Output.json_dumps(
                {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": args.max_receive_count}
            ),
            kms_master_key_id=args.key_arn,
            kms_data_key_reuse_period_seconds=KMS_DATA_KEY_REUSE_SECONDS,
            # FIFO queues deduplicate by the id the app sends; high-throughput mode, one group per order.
            fifo_queue=spec.fifo or None,
            deduplication_scope="messageGroup" if spec.fifo else None,
            fifo_throughput_limit="perMessageGroupId" if spec.fifo else None,
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            spec.dlq_name,
            queue_url=dlq.url,
            redrive_allow_policy=pulumi.Output.json_dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [queue.arn]}
            ),
            opts=child,
        )
        return DeployedQueue(spec, queue, dlq)
