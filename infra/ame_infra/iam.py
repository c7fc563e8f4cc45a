"""IAM documents built from named actions and named resources, never `*`.

Key policies are the one place `"Resource": "*"` appears: inside a KMS key policy it means
"this key". Identity policies (roles) always name their resources; the tests and the policy pack
check that.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi

Statement = dict[str, Any]


def allow(
    actions: Sequence[str], resources: Sequence[pulumi.Input[str]], conditions: dict[str, Any] | None = None
) -> Statement:
    statement: Statement = {"Effect": "Allow", "Action": sorted(set(actions)), "Resource": list(resources)}
    if conditions:
        statement["Condition"] = conditions
    return statement


def document(*statements: Statement) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def table_arn(region: str, account_id: pulumi.Input[str], table: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:aws:dynamodb:", region, ":", account_id, ":table/", table)


def log_group_arn(region: str, account_id: pulumi.Input[str], group: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:aws:logs:", region, ":", account_id, ":log-group:", group, ":*")


def assume_role_from(
    service: str,
    external_id: pulumi.Input[str] | None = None,
    source_arn_like: pulumi.Input[str] | None = None,
) -> pulumi.Output[str]:
    """A service's trust, narrowed to this account (confused-deputy guard): by `sts:ExternalId`
    (Firehose sets the account id) or by the calling resource's ARN (CloudWatch Logs)."""
    statement: Statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    conditions: dict[str, Any] = {}
    if external_id is not None:
        conditions["StringEquals"] = {"sts:ExternalId": external_id}
    if source_arn_like is not None:
        conditions["StringLike"] = {"aws:SourceArn": source_arn_like}
    if conditions:
        statement["Condition"] = conditions
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [statement]})
