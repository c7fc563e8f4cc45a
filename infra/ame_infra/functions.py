"""The Chalice handlers as Lambda functions, one least-privilege role and log group each."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ame_infra import grants, iam
from ame_infra.chalice_package import ChalicePackage, PackagedFunction
from ame_infra.contract import (
    ACCESS_BY_HANDLER,
    FAILOVER_SWITCH_ALARM,
    app_secret_parameter,
)
from ame_infra.limits import WORKER_MAX_CONCURRENCY, function_timeout
from ame_infra.queues import DeployedQueue

POWERTOOLS_VERSION = "3.24.0"
"""The `aws-lambda-powertools` pinned in app/requirements.txt (tests/infra check they agree)."""
POWERTOOLS_LAYER_VERSION = 27
"""AWS's public layer version published for that release (Powertools' install docs list it); the layer also
brings the X-Ray SDK the Tracer needs. `lean_package` strips Powertools from deployment.zip, so this layer is
where the functions import it from: bump both together."""
POWERTOOLS_LAYER_ACCOUNT = "017000801446"


def powertools_layer_arn(region: str, runtime: str, architecture: str) -> str:
    """`arn:aws:lambda:<region>:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:<version>`."""
    flavour = f"{runtime.replace('.', '')}-{architecture}"
    return (
        f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{flavour}:{POWERTOOLS_LAYER_VERSION}"
    )


@dataclass(frozen=True)
class AppFunctionsArgs:
    package: ChalicePackage
    region: str
    account_id: pulumi.Input[str]
    environment: dict[str, pulumi.Input[str]]
    queues: dict[str, DeployedQueue]
    key_arn: pulumi.Input[str]
    claim_check_bucket_arn: pulumi.Input[str]
    """This region's claim-check bucket (`AME_CLAIM_CHECK_BUCKET` names it in `environment`)."""
    data_key_arn: pulumi.Input[str]
    """The region's data key, the buckets' default encryption: S3 uses it for the functions' claim checks."""
    log_retention_days: int
    app_secret: pulumi.Input[str]
    """A secret Output (`ame-platform:appSecret`); stored as an SSM SecureString under `key_arn`."""
    caller_environment: dict[str, pulumi.Input[str]]
    """The identity settings, for the functions that verify callers (contract.identity_environment)."""
    role: str
    """`primary` or `dr`: the dr stack's sweeper also watches the primary and may set the failover switch."""
    takeover_environment: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """For the dr sweeper only (`grants.takes_over`): `AME_PEER_HEALTH_URL`, the primary's regional health."""
    worker_max_concurrency: int = WORKER_MAX_CONCURRENCY
    """At most this many concurrent invocations from each SQS event source (`workerMaxConcurrency`)."""


@dataclass(frozen=True)
class DeployedFunction:
    packaged: PackagedFunction
    function: aws.lambda_.Function
    log_group: aws.cloudwatch.LogGroup


class AppFunctions(pulumi.ComponentResource):
    by_logical_id: dict[str, DeployedFunction]

    def __init__(self, name: str, args: AppFunctionsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:compute:AppFunctions", name, None, opts)
        code = pulumi.FileArchive(str(args.package.archive))
        runtimes = sorted({f.runtime for f in args.package.functions})
        architectures = sorted({f.architecture for f in args.package.functions})
        # cryptography's Rust extension alone is ~4.5 MB compressed: it lives in a layer so the function zip
        # stays small (lean_package.py); every function mounts it, since any may verify a token.
        self.layer = aws.lambda_.LayerVersion(
            f"{name}-deps",
            layer_name=f"{name}-deps",
            code=pulumi.FileArchive(str(args.package.layer_archive)),
            compatible_runtimes=runtimes,
            compatible_architectures=architectures,
            description="ame-platform compiled dependencies (cryptography, cffi) for the Lambda platform",
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The application secret (cursor signing, audit subject hashes): read once per process from SSM,
        # so it never sits in a function's configuration. Both stacks must hold the same value.
        self.app_secret = aws.ssm.Parameter(
            f"{name}-app-secret",
            name=app_secret_parameter(args.region),
            type="SecureString",
            key_id=args.key_arn,
            value=args.app_secret,
            description="ame-platform application secret; the same value in both regions (docs/deployment.md).",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.by_logical_id = {f.logical_id: self._function(f, code, args) for f in args.package.functions}
        self.register_outputs({lid: d.function.name for lid, d in self.by_logical_id.items()})

    def _function(self, packaged: PackagedFunction, code: pulumi.Archive, args: AppFunctionsArgs) -> DeployedFunction:
        name = function_name(packaged)
        child = pulumi.ResourceOptions(parent=self)
        access = ACCESS_BY_HANDLER.get(packaged.handler)
        if access is None:
            raise ValueError(f"{packaged.handler} has no entry in contract.ACCESS_BY_HANDLER: say what it may touch")
        consumed = self._consumed_queue(packaged, args)
        log_group = aws.cloudwatch.LogGroup(
            name,
            name=f"/aws/lambda/{name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.key_arn,
            opts=child,
        )
        role = aws.iam.Role(name, assume_role_policy=iam.assume_role("lambda.amazonaws.com"), opts=child)
        policy = aws.iam.RolePolicy(
            name,
            role=role.id,
            policy=iam.document(*statements_for(name, packaged.handler, consumed, args)),
            opts=child,
        )
        function = aws.lambda_.Function(
            name,
            name=name,
            role=role.arn,
            runtime=packaged.runtime,
            handler=packaged.handler,
            code=code,
            # Ours (cryptography) and AWS's Powertools layer (Logger, Metrics, Tracer and the X-Ray SDK).
            layers=[self.layer.arn, powertools_layer_arn(args.region, packaged.runtime, packaged.architecture)],
            tracing_config={"mode": "Active"},  # X-Ray: partner (requests) and AWS (botocore) calls as subsegments
            memory_size=packaged.memory_mb,
            timeout=function_timeout(packaged),
            architectures=[packaged.architecture],
            environment={"variables": function_environment(packaged.handler, access.verifies_callers, args)},
            logging_config={"log_format": "Text", "log_group": log_group.name},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, policy, self.app_secret]),
        )
        if consumed is not None and packaged.sqs_source is not None:
            aws.lambda_.EventSourceMapping(
                name,
                event_source_arn=consumed.queue.arn,
                function_name=function.arn,
                batch_size=packaged.sqs_source.batch_size,
                maximum_batching_window_in_seconds=packaged.sqs_source.batching_window_seconds,
                # Chalice leaves this out; without it one bad record makes Lambda retry the whole batch.
                function_response_types=["ReportBatchItemFailures"],
                scaling_config={"maximum_concurrency": args.worker_max_concurrency},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
        if packaged.schedule is not None:
            self._schedule(name, packaged.schedule, function)
        return DeployedFunction(packaged, function, log_group)

    def _schedule(self, name: str, expression: str, function: aws.lambda_.Function) -> None:
        child = pulumi.ResourceOptions(parent=self)
        rule = aws.cloudwatch.EventRule(name, schedule_expression=expression, opts=child)
        aws.lambda_.Permission(
            f"{name}-schedule",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=child,
        )
        aws.cloudwatch.EventTarget(name, rule=rule.name, arn=function.arn, opts=child)

    @staticmethod
    def _consumed_queue(packaged: PackagedFunction, args: AppFunctionsArgs) -> DeployedQueue | None:
        if packaged.sqs_source is None:
            return None
        for deployed in args.queues.values():
            if deployed.spec.name == packaged.sqs_source.queue_name:
                return deployed
        raise ValueError(f"{packaged.logical_id} consumes {packaged.sqs_source.queue_name}, which no stack declares")


def function_environment(handler: str, verifies_callers: bool, args: AppFunctionsArgs) -> dict[str, pulumi.Input[str]]:
    """Every function's settings, plus the identity settings for the API and the takeover's for the dr sweeper."""
    takeover = args.takeover_environment if grants.takes_over(handler, args.role) else {}
    return {**args.environment, **(args.caller_environment if verifies_callers else {}), **takeover}


def function_name(packaged: PackagedFunction) -> str:
    words = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", packaged.logical_id).lower()
    return f"ame-platform-{words}"


def statements_for(
    name: str, handler: str, consumed: DeployedQueue | None, args: AppFunctionsArgs
) -> list[iam.Statement]:
    """`grants.statements` (the local stack's IAM users are built from it too) with this stack's ARNs."""
    resources = grants.Resources(
        log_group=lambda group: iam.log_group_arn(args.region, args.account_id, group),
        table=lambda table: iam.table_arn(args.region, args.account_id, table),
        index=lambda table, index: pulumi.Output.concat(table, "/index/", index),
        queue=lambda spec: args.queues[spec.key].queue.arn,
        key=args.key_arn,
        parameter=lambda parameter: parameter_arn(args, parameter),
        switch_alarm=switch_alarm_arn(args),
        claim_check_objects=pulumi.Output.concat(args.claim_check_bucket_arn, "/*"),
        data_key=args.data_key_arn,
    )
    return grants.statements(
        handler,
        name,
        consumed.spec if consumed is not None else None,
        resources,
        app_secret_parameter(args.region),
        args.role,
    )


def switch_alarm_arn(args: AppFunctionsArgs) -> pulumi.Output[str]:
    """The failover switch: the alarm the functions' environment names (`AME_FAILOVER_SWITCH_REGION`/`_ALARM`,
    `contract.lambda_environment`), in the standby region."""
    region = args.environment.get("AME_FAILOVER_SWITCH_REGION")
    if region is None:  # a role must not read every region's alarm of that name
        raise ValueError("the functions' environment names no AME_FAILOVER_SWITCH_REGION (contract.lambda_environment)")
    alarm = args.environment.get("AME_FAILOVER_SWITCH_ALARM", FAILOVER_SWITCH_ALARM)
    return pulumi.Output.concat("arn:aws:cloudwatch:", region, ":", args.account_id, ":alarm:", alarm)


def parameter_arn(args: AppFunctionsArgs, name: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:aws:ssm:", args.region, ":", args.account_id, ":parameter", name)
