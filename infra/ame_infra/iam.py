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
