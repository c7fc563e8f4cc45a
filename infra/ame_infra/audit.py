"""The audit trail in AWS: the API's audit lines, off the request path, into the Object-Locked bucket.

The API writes one JSON line per personal-data request to stdout (`"kind": "audit"`), so its only
cost to a request is a log write. CloudWatch Logs matches those lines with a subscription filter and
hands them to a Kinesis Data Firehose stream, which decompresses CloudWatch's gzip envelopes,
extracts the messages and writes them as JSON lines to the region's audit bucket (S3 Object Lock in
COMPLIANCE mode, SSE-KMS with the region's data key) under `audit/<yyyy>/<MM>/<dd>/`. Records that
Firehose cannot process land under `audit-errors/` in the same locked bucket, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ame_infra import iam
from ame_infra.alerting import paging
from ame_infra.contract import AUDIT_ERROR_PREFIX, AUDIT_FILTER_PATTERN, AUDIT_PREFIX

BUFFER_SECONDS = 300
BUFFER_MB = 5
FRESHNESS_ALARM_SECONDS = 3 * BUFFER_SECONDS
PREFIX = f"{AUDIT_PREFIX}!{{timestamp:yyyy/MM/dd}}/"
"""`audit/2025/01/31/`: Firehose's arrival time in UTC, so a report for a period lists only its days."""
ERROR_PREFIX = f"{AUDIT_ERROR_PREFIX}!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd}}/"
Processor = aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorArgsDict
PROCESSORS: list[Processor] = [
    # CloudWatch Logs sends gzip envelopes ({"logEvents": [{"message": ...}], ...}); Firehose opens them
    # and keeps only each event's message: the audit line itself, one per line in the object.
    {"type": "Decompression", "parameters": [{"parameter_name": "CompressionFormat", "parameter_value": "GZIP"}]},
    {
        "type": "CloudWatchLogProcessing",
        "parameters": [{"parameter_name": "DataMessageExtraction", "parameter_value": "true"}],
    },
    {"type": "AppendDelimiterToRecord"},
]


@dataclass(frozen=True)
class AuditTrailArgs:
    region: str
    account_id: pulumi.Input[str]
    source_log_group: pulumi.Input[str]
    """The API function's log group (its name)."""
    bucket_name: str
    """The region's audit bucket (owned by the prod stack in both regions, Object-Locked)."""
    bucket_key_arn: pulumi.Input[str]
    """The region's data key: the bucket's default encryption and what replication expects."""
    stream_key_arn: pulumi.Input[str]
    """The stack's compute key: encrypts the records while Firehose buffers them, and its log group."""
    log_retention_days: int
    alarm_topic_arn: pulumi.Input[str]


class AuditTrail(pulumi.ComponentResource):
    stream_name: str
    bucket_name: str

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:audit:AuditTrail", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.stream_name = name
        self.bucket_name = args.bucket_name
        bucket_arn = f"arn:aws:s3:::{args.bucket_name}"
        delivery_logs = aws.cloudwatch.LogGroup(
            f"{name}-delivery",
            name=f"/aws/kinesisfirehose/{name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.stream_key_arn,
            opts=child,
        )
        delivery_log_stream = aws.cloudwatch.LogStream(
            f"{name}-delivery", name="DestinationDelivery", log_group_name=delivery_logs.name, opts=child
        )
        firehose_role = aws.iam.Role(
            f"{name}-firehose",
            assume_role_policy=iam.assume_role_from("firehose.amazonaws.com", external_id=args.account_id),
            opts=child,
        )
        objects = [f"{bucket_arn}/{AUDIT_PREFIX}*", f"{bucket_arn}/{AUDIT_ERROR_PREFIX}*"]
        firehose_policy = aws.iam.RolePolicy(
            f"{name}-firehose",
            role=firehose_role.id,
            policy=iam.document(
                iam.allow(["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], [bucket_arn]),
                # Writes only under its two prefixes; no delete, no retention change (the bucket forbids both).
                iam.allow(["s3:AbortMultipartUpload", "s3:PutObject"], objects),
                iam.allow(
                    ["kms:Decrypt", "kms:GenerateDataKey"],
                    [args.bucket_key_arn],
                    {
                        "StringEquals": {"kms:ViaService": f"s3.{args.region}.amazonaws.com"},
                        # With S3 Bucket Keys the context is the bucket; without, the object.
                        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, *objects]},
                    },
                ),
                iam.allow(
                    ["logs:PutLogEvents"],
                    [
                        pulumi.Output.concat(
                            "arn:aws:logs:",
                            args.region,
                            ":",
                            args.account_id,
                            ":log-group:",
                            delivery_logs.name,
                            ":log-stream:",
                            delivery_log_stream.name,
                        )
                    ],
                ),
            ),
            opts=child,
        )
        stream = aws.kinesis.FirehoseDeliveryStream(
            name,
            name=name,
            destination="extended_s3",
            server_side_encryption={
                "enabled": True,
                "key_type": "CUSTOMER_MANAGED_CMK",
                "key_arn": args.stream_key_arn,
            },
            extended_s3_configuration={
                "role_arn": firehose_role.arn,
                "bucket_arn": bucket_arn,
                "prefix": PREFIX,
                "error_output_prefix": ERROR_PREFIX,
                "file_extension": ".jsonl",
                "buffering_interval": BUFFER_SECONDS,
                "buffering_size": BUFFER_MB,
                "compression_format": "UNCOMPRESSED",
                "kms_key_arn": args.bucket_key_arn,
                "processing_configuration": {"enabled": True, "processors": PROCESSORS},
                "cloudwatch_logging_options": {
                    "enabled": True,
                    "log_group_name": delivery_logs.name,
                    "log_stream_name": delivery_log_stream.name,
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[firehose_policy]),
        )
        logs_role = aws.iam.Role(
            f"{name}-logs",
            assume_role_policy=iam.assume_role_from(
                f"logs.{args.region}.amazonaws.com",
                source_arn_like=pulumi.Output.concat("arn:aws:logs:", args.region, ":", args.account_id, ":*"),
            ),
            opts=child,
        )
        logs_policy = aws.iam.RolePolicy(
            f"{name}-logs",
            role=logs_role.id,
            policy=iam.document(iam.allow(["firehose:PutRecord", "firehose:PutRecordBatch"], [stream.arn])),
            opts=child,
        )
        self.filter = aws.cloudwatch.LogSubscriptionFilter(
            name,
            name=name,
            log_group=args.source_log_group,
            filter_pattern=AUDIT_FILTER_PATTERN,
            destination_arn=stream.arn,
            role_arn=logs_role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs_policy]),
        )
        self._alarms(name, args)
        self.register_outputs({"stream": stream.name, "bucket": args.bucket_name})

    def _alarms(self, name: str, args: AuditTrailArgs) -> None:
        """A record that is late or lost is an LGPD answer we cannot give: both page."""
        child = pulumi.ResourceOptions(parent=self)
        aws.cloudwatch.MetricAlarm(
            f"{name}-freshness",
            **paging(
                "P2",
                "audit-delivery",
                "Audit records wait in Firehose longer than three buffer intervals: S3 delivery fails.",
            ),
            namespace="AWS/Firehose",
            metric_name="DeliveryToS3.DataFreshness",
            dimensions={"DeliveryStreamName": name},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=FRESHNESS_ALARM_SECONDS,
            treat_missing_data="notBreaching",
            alarm_actions=[args.alarm_topic_arn],
            ok_actions=[args.alarm_topic_arn],
            opts=child,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-subscription-errors",
            **paging("P2", "audit-delivery", "CloudWatch Logs could not hand audit records to Firehose."),
            namespace="AWS/Logs",
            metric_name="DeliveryErrors",
            dimensions={"LogGroupName": args.source_log_group, "DestinationType": "Firehose", "FilterName": name},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
            alarm_actions=[args.alarm_topic_arn],
            ok_actions=[args.alarm_topic_arn],
            opts=child,
        )
