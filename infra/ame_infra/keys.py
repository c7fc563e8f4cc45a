"""A customer-managed KMS key with yearly rotation, one per region and purpose."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ame_infra.iam import Statement

LOG_SERVICE_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)


@dataclass(frozen=True)
class RegionalKeyArgs:
    alias: str
    description: str
    region: str
    account_id: pulumi.Input[str]
    allow_cloudwatch_logs: bool = False
    allow_cloudwatch_alarms: bool = False


class RegionalKey(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: RegionalKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:security:RegionalKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(
            name,
            description=args.description,
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": key_policy_statements(args)}),
            opts=child,
        )
        aws.kms.Alias(name, name=f"alias/{args.alias}", target_key_id=key.key_id, opts=child)
        self.arn = key.arn
        self.register_outputs({"arn": key.arn})


def key_policy_statements(args: RegionalKeyArgs) -> list[Statement]:
    """The account administers the key through IAM; named AWS services may use it, scoped by condition."""
    statements: list[Statement] = [
        {
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", args.account_id, ":root")},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if args.allow_cloudwatch_logs:
        statements.append(
            {
                "Sid": "CloudWatchLogsEncryptsThisAccountsGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{args.region}.amazonaws.com"},
                "Action": list(LOG_SERVICE_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": pulumi.Output.concat(
                            "arn:aws:logs:", args.region, ":", args.account_id, ":log-group:*"
                        )
                    }
                },
            }
        )
    if args.allow_cloudwatch_alarms:
        statements.append(
            {
                "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}},
            }
        )
    return statements
