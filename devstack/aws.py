"""Creates the tables and queues on the local AWS endpoint; in AWS, Pulumi owns them."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import boto3

from chalicelib.adapters.credit_dynamodb import credit_table
from chalicelib.adapters.dynamodb import bind_models, create_tables, ensure_table
from chalicelib.adapters.failover_switch import ensure_switch_alarm
from chalicelib.settings import Settings, dead_letter_queue_name, is_fifo


def sqs_client(settings: Settings) -> Any:
    return boto3.client("sqs", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)


def ensure_queue(sqs: Any, name: str, max_receive_count: int, visibility_timeout: int) -> str:
    """A queue with its own DLQ and redrive policy, as every queue of ours has (FIFO when named so)."""
    fifo = {"FifoQueue": "true"} if is_fifo(name) else {}
    dlq_url = sqs.create_queue(
        QueueName=dead_letter_queue_name(name), Attributes={"MessageRetentionPeriod": "1209600", **fifo}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)})
    attributes = {"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive}
    url: str = sqs.create_queue(QueueName=name, Attributes={**attributes, **fifo})["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def ensure_bucket(s3: Any, name: str, region: str) -> None:
    """Encrypted with KMS by default as the Pulumi bucket is (moto keeps the setting; it has no data key here)."""
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=name, **location)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]
        },
    )


def ensure_resources(settings: Settings, visibility_timeout: int) -> None:
    models = bind_models(settings.orders_table, settings.idempotency_table, settings.region, settings.aws_endpoint_url)
    create_tables(models)
    ensure_table(credit_table(settings.credit_table, settings.region, settings.aws_endpoint_url))
    dynamodb = boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)
    for table in (settings.orders_table, settings.idempotency_table, settings.credit_table):
        # As in AWS (Pulumi turns it on): the restore drill restores to a point in time.
        dynamodb.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    sqs = sqs_client(settings)
    for name in (settings.envelope_requests_queue, settings.envelope_results_queue, settings.notifications_queue):
        ensure_queue(sqs, name, settings.max_receive_count, visibility_timeout)
    if settings.claim_check_bucket:
        s3 = boto3.client("s3", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)
        ensure_bucket(s3, settings.claim_check_bucket, settings.region)
    if settings.failover_switch_region:  # the failover switch, in the standby region (the dr stack's in AWS)
        region, endpoint = settings.failover_switch_region, settings.aws_endpoint_url
        ensure_switch_alarm(boto3.client("cloudwatch", region_name=region, endpoint_url=endpoint))


if __name__ == "__main__":
    ensure_resources(Settings.from_env(os.environ), int(os.environ.get("AME_VISIBILITY_TIMEOUT", "10")))
