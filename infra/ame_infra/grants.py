"""What each Lambda function may do in AWS, as plain data: one source for two consumers.

The Pulumi program turns these statements into the function roles (`functions.py`, with real ARNs);
the local stack turns the same statements into IAM users on its moto endpoint, which then denies any
action a function calls without a grant (`devstack/permissions.py`, resources widened to `*` there
because moto matches actions only). No `pulumi` import: devstack imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ame_infra.contract import (
    ACCESS_BY_HANDLER,
    ENVELOPE_REQUESTS,
    FAILOVER_SWITCH_NAMESPACE,
    TABLES,
    FunctionAccess,
    QueueSpec,
)

Statement = dict[str, Any]
Resource = Any
"""A plain ARN string locally, a `pulumi.Input[str]` in the program: this module only places them."""

KMS_FOR_ENCRYPTED_QUEUES = ("kms:Decrypt", "kms:GenerateDataKey")
KMS_FOR_CLAIM_CHECK = {"s3:GetObject": ("kms:Decrypt",), "s3:PutObject": ("kms:GenerateDataKey",)}
"""SSE-KMS under the bucket's key (the region's data key): S3 calls KMS with the caller's rights."""
VIA_S3 = {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}
"""Only through S3: the data key also guards the tables and the other buckets."""
SQS_CONSUMER_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
)
"""ChangeMessageVisibility (by the queue's URL, looked up by name): the outbox's claim brings a request back
soon if its attempt dies (`EnvelopeQueue.redeliver_within`). SendMessageBatch is authorized as sqs:SendMessage."""
SQS_SENDER_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage")
"""The app finds each queue by name (`chalicelib.adapters.sqs.QueueAddress`) before sending to it."""
DEEP_HEALTH_QUEUE_ACTIONS = ("sqs:GetQueueAttributes",)
"""`/v1/health` proves the request queue answers (a regional SQS impairment must fail over); the sweeper
re-queues nothing while requests wait on it (`EnvelopeQueue.waiting`)."""
FAILOVER_SWITCH_ACTIONS = ("cloudwatch:DescribeAlarms",)
"""Every function reads the failover switch (an alarm in the standby region): a fenced primary's API
refuses writes and its worker and sweeper idle."""

TAKEOVER_ACTIONS = ("cloudwatch:SetAlarmState",)
TAKEOVER_METRIC_ACTIONS = ("cloudwatch:PutMetricData",)
"""The dr sweeper takes over from a primary that stops answering (`chalicelib.takeover`): it writes the switch
as every other writer does, the metric then the alarm's state. PutMetricData has no resource type in AWS:
it is granted on `*`, narrowed to the switch's namespace by `cloudwatch:namespace`."""

TRACING_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
"""Active tracing: the function's X-Ray segments (Powertools Tracer). X-Ray has no resource types and no condition
keys for these: AWS authorizes them on `*` only (the managed AWSXRayDaemonWriteAccess policy does the same)."""

API, WORKER, SWEEPER = "app.app", "app.assemble_envelopes", "app.sweep_stuck_orders"
PRIMARY_ROLE, STANDBY_ROLE = "primary", "dr"
KINDS = {"api": API, "worker": WORKER, "sweeper": SWEEPER, "standby-sweeper": SWEEPER}
"""One role per Lambda function kind, by the name the local stack gives its process. The dr region's sweeper
is a kind of its own: it alone may set the failover switch (`takes_over`)."""
CONSUMES = {WORKER: ENVELOPE_REQUESTS}
"""The queue each SQS handler consumes (`app.py`'s `on_sqs_message`; the program reads it from the package)."""


@dataclass(frozen=True)
class Resources:
    """How to name each resource a statement can grant on, for one stack (or `everything()` locally)."""

    log_group: Callable[[str], Resource]
    """By log group name."""
    table: Callable[[str], Resource]
    """By table name."""
    index: Callable[[Resource, str], Resource]
    """By the table's resource and the index name."""
    queue: Callable[[QueueSpec], Resource]
    key: Resource
    """The stack's data key (queues and SecureStrings are encrypted under it)."""
    parameter: Callable[[str], Resource]
    """By SSM parameter name."""
    switch_alarm: Resource
    claim_check_objects: Resource
    """The claim-check bucket's objects (`<bucket ARN>/*`)."""
    data_key: Resource
    """The region's data key, under which the buckets encrypt (not `key`, the compute key)."""


def everything() -> Resources:
    """Every resource as `*`: what moto can match (actions only)."""
    return Resources(
        log_group=lambda _: "*",
        table=lambda _: "*",
        index=lambda _table, _index: "*",
        queue=lambda _: "*",
        key="*",
        parameter=lambda _: "*",
        switch_alarm="*",
        claim_check_objects="*",
        data_key="*",
    )


def allow(actions: Sequence[str], resources: Sequence[Resource], conditions: dict[str, Any] | None = None) -> Statement:
    statement: Statement = {"Effect": "Allow", "Action": sorted(set(actions)), "Resource": list(resources)}
    if conditions:
        statement["Condition"] = conditions
    return statement


def takes_over(handler: str, role: str) -> bool:
    """Only the standby's sweeper sets the switch; the primary's never could (it may be the impaired side)."""
    return handler == SWEEPER and role == STANDBY_ROLE


def kind_of(handler: str, role: str) -> str:
    """The local user a stack of `role` runs `handler` as (`KINDS` inverted)."""
    if takes_over(handler, role):
        return "standby-sweeper"
    return next(kind for kind, of in KINDS.items() if of == handler)


def role_of(kind: str) -> str:
    return STANDBY_ROLE if kind == "standby-sweeper" else PRIMARY_ROLE


def statements(
    handler: str,
    function_name: str,
    consumed: QueueSpec | None,
    resources: Resources,
    app_secret_parameter: str,
    role: str,
) -> list[Statement]:
    """The function's identity policy: its log group, tables, queues, key, parameters and the failover switch
    (read by every function; written by the dr sweeper only)."""
    access = access_of(handler)
    log_group = resources.log_group(f"/aws/lambda/{function_name}")
    found = [allow(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group])]
    tables = {spec.key: spec for spec in TABLES}
    for key, actions in sorted(access.tables.items()):
        table = resources.table(tables[key].name)
        named = [table]
        if key in access.queries_indexes_of:
            named += [resources.index(table, index.name) for index in tables[key].indexes]
        found.append(allow(actions, named))
    sends = [resources.queue(q) for q in access.sends_to]
    if sends:
        found.append(allow(SQS_SENDER_ACTIONS, sends))
    if handler in (API, SWEEPER):  # `/v1/health` is the API's; the sweeper looks for a backlog first
        found.append(allow(DEEP_HEALTH_QUEUE_ACTIONS, [resources.queue(q) for q in access.sends_to]))
    if consumed is not None:
        found.append(allow(SQS_CONSUMER_ACTIONS, [resources.queue(consumed)]))
    if sends or consumed is not None:
        found.append(allow(KMS_FOR_ENCRYPTED_QUEUES, [resources.key]))
    if access.claim_checks:
        found.append(allow(access.claim_checks, [resources.claim_check_objects]))
        kms = [action for s3 in access.claim_checks for action in KMS_FOR_CLAIM_CHECK[s3]]
        found.append(allow(kms, [resources.data_key], VIA_S3))
    found.append(allow(FAILOVER_SWITCH_ACTIONS, [resources.switch_alarm]))
    found.append(allow(TRACING_ACTIONS, ["*"]))
    if takes_over(handler, role):
        found.append(allow(TAKEOVER_ACTIONS, [resources.switch_alarm]))
        namespace = {"StringEquals": {"cloudwatch:namespace": FAILOVER_SWITCH_NAMESPACE}}
        found.append(allow(TAKEOVER_METRIC_ACTIONS, ["*"], namespace))
    if access.reads_app_secret:
        secret = resources.parameter(app_secret_parameter)
        found.append(allow(["ssm:GetParameter"], [secret]))
        # SSM decrypts a SecureString with the caller's rights, naming the parameter in the context.
        found.append(
            allow(["kms:Decrypt"], [resources.key], {"StringEquals": {"kms:EncryptionContext:PARAMETER_ARN": secret}})
        )
    return found


def actions(found: Sequence[Statement]) -> set[str]:
    """Every action the statements allow, whatever the resource."""
    return {action for statement in found if statement["Effect"] == "Allow" for action in statement["Action"]}


def access_of(handler: str) -> FunctionAccess:
    access = ACCESS_BY_HANDLER.get(handler)
    if access is None:
        raise ValueError(f"{handler} has no entry in contract.ACCESS_BY_HANDLER: say what it may touch")
    return access
