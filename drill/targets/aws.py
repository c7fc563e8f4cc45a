"""The deployed prod and dr stacks as a drill target, named by their `pulumi stack output --json`.

Nothing here runs the local environment: a drill against AWS needs only boto3, requests and
the stacks' outputs. Before it writes anything, `check_access` resolves the credentials and
makes one read-only call for each resource and permission it can check cheaply.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.failover_switch import set_primary_out_of_service
from chalicelib.identity.client_credentials import ClientCredentials, TokenRequestFailed
from chalicelib.settings import (
    FAILOVER_SWITCH_ALARM,
    FAILOVER_SWITCH_METRIC,
    FAILOVER_SWITCH_NAMESPACE,
    REGION_HEADER,
)
from drill.canary import ORDER_AMOUNT, CanarySubjects, decision_body
from drill.model import HELD_OUT_SECONDS
from drill.targets.base import Names, Regions, Target

API_FUNCTION = "ame-platform-api-handler"
"""The API's Lambda function in each stack (`infra/ame_infra/functions.function_name` of `APIHandler`)."""
TAKEOVER_TIMEOUT_SECONDS = 180.0
"""EventBridge runs the dr sweeper every minute and one run probes for up to ~32 s (3 probes 10 s apart,
4 s each), after Route 53's ~30 s: the standby sets the switch within about 2 minutes of the fault."""

TABLE_KEYS = ("orders", "credit")
"""The `table_names` entries the drill reads; global tables have the same name in both regions."""

PROBE_KEY = "drill-preflight-absent"
"""A key no item has: reading it checks `dynamodb:GetItem` without touching data."""

DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"})
NOT_FOUND = frozenset({"ParameterNotFound", "ResourceNotFoundException", "NoSuchHealthCheck", "ResourceNotFound"})


CLIENT_VARIABLES = ("DRILL_CLIENT_ID", "DRILL_CLIENT_SECRET")
DR_CLIENT_VARIABLES = ("DRILL_DR_CLIENT_ID", "DRILL_DR_CLIENT_SECRET")
DRILL_SCOPES = ("orders.write", "orders.read", "credit.decide", "credit.customers.read")
"""What the canary does: place and read orders, decide and read credit."""


def drill_clients(prod: StackOutputs, dr: StackOutputs, env: Mapping[str, str]) -> list[ClientCredentials]:
    """The drill's client in prod's pool, then (when given) its client in dr's: tried in that order."""
    clients = []
    for outputs, (id_variable, secret_variable) in ((prod, CLIENT_VARIABLES), (dr, DR_CLIENT_VARIABLES)):
        if env.get(id_variable) and env.get(secret_variable):
            clients.append(ClientCredentials(outputs.token_url, env[id_variable], env[secret_variable]))
    return clients if any(c.token_url == prod.token_url for c in clients) else []


class OutputsFileError(ValueError):
    """A stack outputs file the drill cannot use: unreadable, not a JSON object, or lacking a key it reads."""


@dataclass(frozen=True)
class StackOutputs:
    """What the drill reads of `pulumi stack output --json`: each field is the stack output of that name."""

    region: str
    api_url: str
    regional_api_url: str
    health_check_id: str
    table_names: dict[str, str]
    token_url: str
    """The stack's Cognito token endpoint, where the drill's client gets the canary's bearer token."""
    failover_switch: dict[str, str] | None = None
    """`{"region", "alarm_name", "namespace", "metric_name"}`: the alarm that holds the primary out. Optional:
    outputs saved before the stacks exported it fall back to the contract's names in the dr region."""

    @classmethod
    def required(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name not in OPTIONAL_OUTPUTS]

    @classmethod
    def load(cls, path: Path) -> StackOutputs:
        raw = _json_object(path)
        missing = [name for name in cls.required() if name not in raw]
        tables = raw.get("table_names", {})
        if not isinstance(tables, dict):
            raise OutputsFileError(f"{path}: `table_names` is not an object of table names")
        missing += [f"table_names.{key}" for key in TABLE_KEYS if key not in tables]
        if missing:
            raise OutputsFileError(
                f"{path} has no {', '.join(repr(key) for key in missing)}: save the whole "
                "`pulumi stack output --json --stack <prod|dr>` (the keys are in the README, DR drills)"
            )
        switch = raw.get("failover_switch")
        if switch is not None and not (isinstance(switch, dict) and {"region", "alarm_name"} <= set(switch)):
            raise OutputsFileError(f"{path}: `failover_switch` is not an object with `region` and `alarm_name`")
        return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})


OPTIONAL_OUTPUTS = frozenset({"failover_switch"})


@dataclass(frozen=True)
class SwitchAlarm:
    """Where the failover switch lives: the dr stack's `failover_switch` output, else the contract's names."""

    region: str
    alarm_name: str
    namespace: str = FAILOVER_SWITCH_NAMESPACE
    metric_name: str = FAILOVER_SWITCH_METRIC

    @classmethod
    def of(cls, dr: StackOutputs) -> SwitchAlarm:
        raw = dr.failover_switch or {}
        return cls(
            region=raw.get("region", dr.region),
            alarm_name=raw.get("alarm_name", FAILOVER_SWITCH_ALARM),
            namespace=raw.get("namespace", FAILOVER_SWITCH_NAMESPACE),
            metric_name=raw.get("metric_name", FAILOVER_SWITCH_METRIC),
        )


def _json_object(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text())
    except OSError as error:
        raise OutputsFileError(f"{path}: cannot read it ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise OutputsFileError(f"{path}: not JSON ({error})") from None
    if not isinstance(raw, dict):
        raise OutputsFileError(f"{path}: not a JSON object of stack outputs")
    return raw


def load_stacks(prod_path: Path, dr_path: Path) -> tuple[StackOutputs, StackOutputs]:
    """Both stacks' outputs, which must name two different regions."""
    prod, dr = StackOutputs.load(prod_path), StackOutputs.load(dr_path)
    if prod.region == dr.region:
        raise OutputsFileError(f"{prod_path} and {dr_path} both name region {prod.region}: pass the prod and dr stacks")
    return prod, dr


@dataclass(frozen=True)
class Access:
    """Who the credentials resolve to, and each read-only check that failed, one line each."""

    identity: str | None
    problems: list[str]


def failure(label: str, call: Callable[[], object]) -> str | None:
    """Why the read-only `call` failed, in one line that starts with `label`; None when it succeeded."""
    try:
        call()
    except (BotoCoreError, ClientError) as error:
        return explain(label, error)
    return None


def explain(label: str, error: BotoCoreError | ClientError) -> str:
    """What was refused, read from the error code (never its message), or what failed on the way."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        meaning = "permission missing" if code in DENIED else "not found" if code in NOT_FOUND else "failed"
        return f"{label}: {meaning} ({code})"
    return f"{label}: {error}"


def canary_subjects_from(env: Mapping[str, str]) -> CanarySubjects:
    """Test entities the deployed partners know, from `DRILL_CANARY_*`.

    The defaults are the local demo's company with a quorum and person with a bureau score
    (a unit test holds them equal), so a stack whose partners serve the demo data needs none.
    """
    order: dict[str, Any] = {
        "area_id": env.get("DRILL_CANARY_AREA", "AREA-CREDIT"),
        "product": "CCB",
        "power_code": env.get("DRILL_CANARY_POWER", "SIGN_CREDIT"),
        "platform": env.get("DRILL_CANARY_PLATFORM", "BANKLINE"),
        "signature_method": "DIGITAL",
        "amount": ORDER_AMOUNT,
        "requester": {"document": env.get("DRILL_CANARY_CNPJ", "11111111000191")},
        "guarantors": [],
    }
    return CanarySubjects(order=order, decision=decision_body(env.get("DRILL_CANARY_CPF", "70000000159")))


class AwsTarget(Target):
    """The deployed stacks. `endpoint_url` points every client at a local endpoint for tests."""

    name = "aws"

    def __init__(
        self,
        prod: StackOutputs,
        dr: StackOutputs,
        endpoint_url: str | None = None,
        env: Mapping[str, str] = os.environ,
    ) -> None:
        self.prod, self.dr = prod, dr
        self.clients = drill_clients(prod, dr, env)
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        self.primary, self.secondary = prod.region, dr.region
        self.public_url = prod.api_url
        names = Names(orders_table=prod.table_names["orders"], credit_table=prod.table_names["credit"])
        self.replication_lag_source = (
            f"CloudWatch AWS/DynamoDB ReplicationLatency of {names.orders_table} into {self.secondary}, "
            "highest 5-minute average of the last 15 minutes"
        )
        self.data = Regions((self.primary, self.secondary), names, endpoint_url=endpoint_url)
        self.switch = SwitchAlarm.of(dr)
        self._switch = boto3.client("cloudwatch", region_name=self.switch.region, endpoint_url=endpoint_url)
        self._route53 = boto3.client("route53", region_name="us-east-1", endpoint_url=endpoint_url)
        self._cloudwatch = boto3.client("cloudwatch", region_name=self.primary, endpoint_url=endpoint_url)
        self._sts = boto3.client("sts", region_name=self.primary, endpoint_url=endpoint_url)
        self._lambda = boto3.client("lambda", region_name=self.primary, endpoint_url=endpoint_url)

    takeover_timeout_seconds = TAKEOVER_TIMEOUT_SECONDS
    takeover_poll_seconds = 5.0

    def canary_subjects(self) -> CanarySubjects:
        return canary_subjects_from(os.environ)

    def api_headers(self) -> dict[str, str]:
        """The drill client's bearer token: from prod's pool, else dr's (the regions trust each other's
        pools, so a token fetched before the fault serves through the failover; it lives an hour)."""
        if not self.clients:
            raise TokenRequestFailed(f"{' and '.join(CLIENT_VARIABLES)} are not set")
        failures = []
        for client in self.clients:
            try:
                return {"Authorization": f"Bearer {client.token()}"}
            except TokenRequestFailed as failed:
                failures.append(str(failed))
        raise TokenRequestFailed("; ".join(failures))

    def outputs(self, region: str) -> StackOutputs:
        return self.prod if region == self.primary else self.dr

    def regional_url(self, region: str) -> str:
        return self.outputs(region).regional_api_url

    def read_only_checks(self) -> dict[str, Callable[[], object]]:
        """One read-only call per resource and permission the drill needs, by what it checks.

        Writing the switch (`cloudwatch:PutMetricData`, `cloudwatch:SetAlarmState`), throttling the API function
        (`lambda:PutFunctionConcurrency`, `lambda:DeleteFunctionConcurrency`) and restoring or deleting a table
        cannot be tried without doing them; reading the same alarm and table stands in.
        """
        names = self.data.names
        checks: dict[str, Callable[[], object]] = {
            f"cloudwatch:DescribeAlarms {self.switch.alarm_name} in {self.switch.region}": self._describe_switch
        }
        for region in (self.primary, self.secondary):
            describe = self.data.dynamodb(region).describe_table
            for kind, table in (("order", names.orders_table), ("decision", names.credit_table)):
                checks[f"dynamodb:DescribeTable {table} in {region}"] = partial(describe, TableName=table)
                checks[f"dynamodb:GetItem {table} in {region}"] = partial(self.data.item, region, kind, PROBE_KEY)
            check_id = self.outputs(region).health_check_id
            checks[f"route53:GetHealthCheckStatus {check_id} ({region})"] = partial(
                self._route53.get_health_check_status, HealthCheckId=check_id
            )
        checks[f"dynamodb:Scan {names.orders_table} in {self.primary} (restore drill)"] = partial(
            self.data.dynamodb(self.primary).scan, TableName=names.orders_table, Limit=1
        )
        checks[f"cloudwatch:GetMetricStatistics ReplicationLatency in {self.primary}"] = self.replication_lag_ms
        return checks

    def _describe_switch(self) -> str:
        """The switch alarm's state; an absent alarm is an error, as a missing table is."""
        alarms = self._switch.describe_alarms(AlarmNames=[self.switch.alarm_name])["MetricAlarms"]
        if not alarms:
            error = {"Error": {"Code": "ResourceNotFound", "Message": "no such alarm"}}
            raise ClientError(error, "DescribeAlarms")
        return str(alarms[0]["StateValue"])

    def check_access(self) -> Access:
        """The account the credentials resolve to, then every read-only check: all before the first write."""
        try:
            caller = self._sts.get_caller_identity()
        except (BotoCoreError, ClientError) as error:
            why = explain("sts:GetCallerIdentity", error)
            return Access(None, [f"cannot resolve AWS credentials ({why}); set AWS_PROFILE or log in (aws sso login)"])
        via = f" via {self.endpoint_url}" if self.endpoint_url else ""
        identity = f"AWS account {caller['Account']} as {caller['Arn']}{via}; prod {self.primary}, dr {self.secondary}"
        checks = self.read_only_checks()
        problems = [problem for label, call in checks.items() if (problem := failure(label, call))]
        return Access(identity, [*problems, *self.token_problem()])

    def token_problem(self) -> list[str]:
        """The canary's writes need a bearer token: checked, like everything else, before the first write."""
        if not self.clients:
            return [
                f"{' and '.join(CLIENT_VARIABLES)} are not set: the id and secret of an area client of the prod "
                f"stack's pool ({self.prod.token_url}) with the scopes {', '.join(DRILL_SCOPES)}"
            ]
        try:
            self.api_headers()
        except TokenRequestFailed as failed:
            return [f"token for {self.clients[0].client_id}: {failed}"]
        return []

    def plan(self, command: str = "failover", report_dir: Path = Path("drill-report")) -> list[str]:
        """Every step `<command> --target aws` takes, for `--dry-run`."""
        p, s = self.primary, self.secondary
        orders = self.data.names.orders_table
        steps = [
            "preflight: sts get-caller-identity, printing the account, principal and regions; then the read-only "
            "calls below: any that fails is one line and stops the drill before it writes anything",
            *(f"preflight (read-only): {label}" for label in self.read_only_checks()),
            f"preflight: a client-credentials token for DRILL_CLIENT_ID from {self.prod.token_url} (from "
            f"{self.dr.token_url} for DRILL_DR_CLIENT_ID when prod's pool does not answer), reused by every canary "
            "request until a minute before it expires; the secret is never printed",
        ]
        if command in ("failover", "all"):
            steps += [
                f"preflight: GET {self.regional_url(p)}/v1/health and {self.regional_url(s)}/v1/health answer 200",
                f"preflight: a probe write through {self.public_url} must become readable in {s}; replication "
                f"counted from its acknowledgement, beside CloudWatch ReplicationLatency of {orders}",
                f"traffic: canary orders and credit decisions through {self.public_url}, each write read back",
                f"fault: the primary's API stops answering: aws lambda put-function-concurrency --region {p} "
                f"--function-name {API_FUNCTION} --reserved-concurrent-executions 0 (every request, "
                "/v1/health included, fails; Route 53 fails over after 3 failed 10 s checks)",
                f"measure RTO: until a canary write and read are answered by {s} ({REGION_HEADER})",
                f"measure RPO: acknowledged canaries missing in {s} (dynamodb get-item --consistent-read)",
                f"the standby takes over: wait up to {TAKEOVER_TIMEOUT_SECONDS:g} s (the {s} sweeper runs every "
                "minute and probes for up to 32 s) for it to set the switch by itself, read with cloudwatch "
                f"describe-alarms every 5 s; if it has not, the drill sets it ({self._switch_command(True)}) and "
                "fails, the latch not having acted",
                f"hold: serve from {s}; its sweeper re-queues orders stuck in PROCESSING",
                f"recover: aws lambda delete-function-concurrency --region {p} --function-name {API_FUNCTION}",
                f"held out: for {HELD_OUT_SECONDS:g} s {self.regional_url(p)}/v1/health answers 503 (REGION_FENCED) "
                f"and every canary is answered by {s}: failback waits for the operator's step",
                f"failback (the operator's step): {self._switch_command(False)}",
                f"measure: until a canary write and read are answered by {p}; canaries acknowledged by {s} missing "
                f"in {p}",
                "verify: every acknowledged canary in both regions, identical; every canary order in a terminal state",
            ]
        if command in ("restore", "all"):
            steps += [
                f"restore: dynamodb restore-table-to-point-in-time --region {p} --source-table-name {orders} "
                f"--target-table-name {orders}-drill-<UTC time> (now); compare item count and checksum; "
                f"delete-table the copy",
            ]
        return [
            *steps,
            f"report: {report_dir / 'report.json'}, report.md"
            + (", timeline.png" if command != "restore" else "")
            + "; exit 1 if an objective was missed",
        ]

    def _switch_command(self, out: bool) -> str:
        sw = self.switch
        return (
            f"aws cloudwatch put-metric-data --region {sw.region} --namespace {sw.namespace} "
            f"--metric-name {sw.metric_name} --value {1 if out else 0} && aws cloudwatch set-alarm-state "
            f"--region {sw.region} --alarm-name {sw.alarm_name} --state-value {'ALARM' if out else 'OK'} "
            f'--state-reason "{"DR drill: the standby takes over" if out else "DR drill: failback"}"'
        )

    def set_switch(self, out_of_service: bool) -> None:
        set_primary_out_of_service(self._switch, out_of_service, self.switch.alarm_name)

    def switch_set(self) -> bool:
        return self._describe_switch() == "ALARM"

    def inject_fault(self, region: str) -> None:
        """A managed service cannot be impaired; the primary's API function can be throttled to nothing, which
        fails every request, `/v1/health` included, until `recover`. The switch is the standby's to set."""
        self._lambda.put_function_concurrency(FunctionName=API_FUNCTION, ReservedConcurrentExecutions=0)

    def recover(self, region: str) -> None:
        """The throttle is lifted: the primary answers again, fenced (503) until the switch is cleared."""
        self._lambda.delete_function_concurrency(FunctionName=API_FUNCTION)

    def detected_unhealthy(self, region: str, since: datetime) -> datetime | None:
        checks = self._route53.get_health_check_status(HealthCheckId=self.outputs(region).health_check_id)
        statuses = [o["StatusReport"]["Status"] for o in checks["HealthCheckObservations"]]
        failing = sum(1 for status in statuses if not status.startswith("Success"))
        return datetime.now(UTC) if statuses and failing * 2 > len(statuses) else None

    def replication_lag_ms(self) -> float | None:
        end = datetime.now(UTC)
        stats = self._cloudwatch.get_metric_statistics(
            Namespace="AWS/DynamoDB",
            MetricName="ReplicationLatency",
            Dimensions=[
                {"Name": "TableName", "Value": self.data.names.orders_table},
                {"Name": "ReceivingRegion", "Value": self.secondary},
            ],
            StartTime=datetime.fromtimestamp(end.timestamp() - 900, UTC),
            EndTime=end,
            Period=300,
            Statistics=["Average"],
        )["Datapoints"]
        return max((float(p["Average"]) for p in stats), default=None)
