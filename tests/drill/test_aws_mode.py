"""The AWS mode's steps, run against the local endpoint where the same API exists there.

The switch is the real mechanism: the CloudWatch alarm in the dr region that the primary's fence
(and, in AWS, Route 53's primary record) reads. Setting it through `AwsTarget` must fence the
primary and move traffic; only clearing it brings the primary back. The preflight's read-only
checks run against the same endpoint, in regions the test provisions.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

import drill.__main__
from chalicelib.adapters.failover_switch import ensure_switch_alarm
from chalicelib.adapters.http_partners import HttpTrafficProbe
from chalicelib.polling import wait_for
from chalicelib.settings import CREDIT_TABLE, FAILOVER_SWITCH_ALARM, ORDERS_TABLE
from devstack.regions import PRIMARY, SECONDARY, TwoRegionConfig, TwoRegionStack
from drill.__main__ import main
from drill.targets import AwsTarget, StackOutputs
from drill.targets.aws import API_FUNCTION, OPTIONAL_OUTPUTS

pytestmark = pytest.mark.drill
ROOT = Path(__file__).resolve().parents[2]
INFRA_MAIN = ROOT / "infra" / "__main__.py"
SAMPLE_PROD = Path("docs/examples/stack-outputs-prod.json")
SAMPLE_DR = Path("docs/examples/stack-outputs-dr.json")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoRegionStack]:
    logs = tmp_path_factory.mktemp("logs-dr")
    with TwoRegionStack(
        TwoRegionConfig.on_free_ports(check_interval=0.5, failure_threshold=2, log_dir=logs)
    ) as running:
        yield running


def test_start_up_leaves_no_broken_pipe_in_either_api_log(stack: TwoRegionStack) -> None:
    # GIVEN both regions started as `make run-dr` starts them: readiness probes, then the router's checks,
    # on APIs whose first answer builds every client (and the region switch's SSM client)
    for region in (PRIMARY, SECONDARY):
        log = (stack.config.log_dir / f"api-{region}.log").read_text(errors="replace")
        # THEN `chalice local` never wrote an answer to a probe that had already hung up
        assert "Serving on" in log
        assert "BrokenPipeError" not in log, f"api-{region}.log"


def outputs(stack: TwoRegionStack, region: str, public_url: str) -> StackOutputs:
    tables = {"orders": "ame-orders", "credit": "ame-credit"}
    return StackOutputs(region, public_url, stack.region_url(region), f"hc-{region}", tables, stack.clients.token_url)


def drill_client_env(stack: TwoRegionStack) -> dict[str, str]:
    """DRILL_CLIENT_ID/SECRET as an operator sets them: AREA-CREDIT's system, holding the canary's scopes."""
    client = stack.clients.for_area("AREA-CREDIT", "credit.decide")
    return {"DRILL_CLIENT_ID": client.client_id, "DRILL_CLIENT_SECRET": client.client_secret}


@pytest.fixture
def target(stack: TwoRegionStack, monkeypatch: pytest.MonkeyPatch) -> AwsTarget:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    prod, dr = outputs(stack, PRIMARY, stack.public_url), outputs(stack, SECONDARY, stack.public_url)
    return AwsTarget(prod, dr, endpoint_url=stack.aws_url, env=drill_client_env(stack))


def region_answering(stack: TwoRegionStack) -> str | None:
    return HttpTrafficProbe(requests.Session(), stack.public_url).serving_region()


def test_the_switch_takes_the_region_out_and_only_clearing_it_brings_it_back(
    stack: TwoRegionStack, target: AwsTarget
) -> None:
    # GIVEN outputs without `failover_switch` (saved before the stacks exported it): the contract's alarm in dr
    assert (target.switch.region, target.switch.alarm_name) == (SECONDARY, FAILOVER_SWITCH_ALARM)
    # WHEN the switch is set from the standby side (the drill's fallback when the standby's latch did not act)
    assert not target.switch_set()
    target.take_over(PRIMARY)
    assert target.switch_set()
    # THEN the primary's own health check fails (after the switch's 5 s cache) and traffic moves to DR
    assert wait_for(lambda: target.health_status(PRIMARY) == 503, timeout=15)
    assert wait_for(lambda: region_answering(stack) == SECONDARY, timeout=10)
    assert target.healthy(SECONDARY)
    # AND a whole primary does not come back by itself: it stays out while the switch is set
    assert not wait_for(lambda: target.healthy(PRIMARY), timeout=6)
    assert region_answering(stack) == SECONDARY
    # WHEN the operator's failback step clears it THEN the primary serves again
    target.fail_back(PRIMARY)
    assert wait_for(lambda: target.healthy(PRIMARY), timeout=15)
    assert wait_for(lambda: region_answering(stack) == PRIMARY, timeout=10)


def test_the_aws_fault_throttles_the_primarys_api_function_and_its_end_lifts_it(
    stack: TwoRegionStack, target: AwsTarget
) -> None:
    # GIVEN the API function as the prod stack names it, in the primary region of the local endpoint
    options: dict[str, Any] = {
        "endpoint_url": stack.aws_url,
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
    }
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = boto3.client("iam", region_name=PRIMARY, **options).create_role(
        RoleName=f"drill-fault-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    functions = boto3.client("lambda", region_name=PRIMARY, **options)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def app(event, context):\n    return {}\n")
    functions.create_function(
        FunctionName=API_FUNCTION, Runtime="python3.11", Role=role, Handler="app.app", Code={"ZipFile": code.getvalue()}
    )
    try:
        # WHEN the drill's AWS fault runs THEN the function may run nowhere: every request fails
        target.inject_fault(PRIMARY)
        assert functions.get_function_concurrency(FunctionName=API_FUNCTION)["ReservedConcurrentExecutions"] == 0
        # WHEN the fault ends THEN the limit is gone (the switch, not the throttle, keeps the primary out)
        target.recover(PRIMARY)
        assert "ReservedConcurrentExecutions" not in functions.get_function_concurrency(FunctionName=API_FUNCTION)
        assert not target.switch_set()
    finally:
        functions.delete_function(FunctionName=API_FUNCTION)


def test_the_readme_failover_by_hand_works_as_written(stack: TwoRegionStack) -> None:
    # GIVEN the README's `make run-dr` block, on this environment's ports (AME_AWS_PORT, as run-dr reads it)
    from tests.e2e.test_readme_examples import readme_sh_blocks

    (block,) = [b for b in readme_sh_blocks() if "devstack.switch" in b]
    if not (ROOT / ".venv" / "bin" / "python").exists():  # the suite may run from another interpreter
        block = block.replace(".venv/bin/python", sys.executable)
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env["AME_AWS_PORT"] = str(stack.config.aws_port)
    # WHEN it is pasted into a shell at the repository's root
    script = block.replace("http://127.0.0.1:8000", stack.public_url)
    done = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    # THEN the switch says what it set, twice, and the router answers with its status
    assert done.returncode == 0, done.stderr
    out, status, back = done.stdout.splitlines()
    switch = f"switch: {FAILOVER_SWITCH_ALARM} in {SECONDARY}"
    fenced = "fenced, its /v1/health and writes answer 503 until the switch is cleared"
    assert out == f"{switch} = ALARM on {stack.aws_url}: {PRIMARY} is out of service: {fenced}"
    assert json.loads(status)["active"] in (PRIMARY, SECONDARY)
    assert back == (
        f"{switch} = OK on {stack.aws_url}: {PRIMARY} is in service again: routing returns once its health checks pass"
    )
    assert wait_for(lambda: region_answering(stack) == PRIMARY, timeout=20)


def test_items_are_read_from_each_region_directly(stack: TwoRegionStack, target: AwsTarget) -> None:
    from drill.canary import CanaryTraffic

    traffic = CanaryTraffic(stack.public_url, "aws-mode", target.canary_subjects(), headers=target.api_headers)
    traffic.write_and_read()
    (written,) = traffic.acknowledged()
    assert target.data.item(PRIMARY, written.kind, written.key) is not None
    assert wait_for(lambda: target.data.item(SECONDARY, written.kind, written.key) is not None, timeout=5)


def dry_run_argv(report_dir: Path) -> list[str]:
    """`failover --target aws --dry-run` over the sample stack outputs the README points to."""
    outputs = ["--prod-outputs", str(ROOT / SAMPLE_PROD), "--dr-outputs", str(ROOT / SAMPLE_DR)]
    return ["failover", "--target", "aws", *outputs, "--dry-run", "--report-dir", str(report_dir)]


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS operation any client of the default boto3 session starts, recorded before it is signed or sent."""
    calls: list[str] = []
    session = boto3.Session()
    session.events.register("before-call", lambda event_name, **_: calls.append(event_name))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    return calls


def test_dry_run_with_the_sample_outputs_prints_every_step_and_calls_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, aws_calls: list[str]
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a dry run started the drill")

    monkeypatch.setattr(drill.__main__, "drill", forbidden)
    monkeypatch.setattr(AwsTarget, "healthy", forbidden)
    # GIVEN the sample outputs files the README documents
    # WHEN the AWS drill runs with --dry-run
    code = main(dry_run_argv(tmp_path / "report"))
    # THEN it lists the steps, the read-only preflight first, the fault, the wait for the standby to take over (the
    # drill setting the switch only if it does not) and the switch cleared at failback, and exits 0
    printed = capsys.readouterr().out.strip().splitlines()
    steps = AwsTarget(StackOutputs.load(ROOT / SAMPLE_PROD), StackOutputs.load(ROOT / SAMPLE_DR)).plan(
        "failover", tmp_path / "report"
    )
    assert code == 0 and [line.split(". ", 1)[1] for line in printed] == steps
    assert any(f"cloudwatch:DescribeAlarms {FAILOVER_SWITCH_ALARM} in us-west-2" in step for step in steps)
    set_it = f"--region us-west-2 --alarm-name {FAILOVER_SWITCH_ALARM} --state-value ALARM"
    throttle = "lambda put-function-concurrency --region us-east-1 --function-name ame-platform-api-handler"
    assert any(step.startswith("fault: the primary's API stops answering") and throttle in step for step in steps)
    assert not any(set_it in step for step in steps if step.startswith("fault"))
    (takeover,) = [step for step in steps if step.startswith("the standby takes over: wait up to 180 s")]
    assert "sweeper runs every minute" in takeover and set_it in takeover and "fails" in takeover
    assert any(step.startswith("recover: aws lambda delete-function-concurrency") for step in steps)
    assert any("held out: for 5 s" in step and "503 (REGION_FENCED)" in step for step in steps)
    clear_it = f"--region us-west-2 --alarm-name {FAILOVER_SWITCH_ALARM} --state-value OK"
    assert any(step.startswith("failback (the operator's step)") and clear_it in step for step in steps)
    # AND it called no AWS operation and wrote no report
    assert aws_calls == []
    assert not (tmp_path / "report").exists()


def test_the_readme_dry_run_works_verbatim_without_credentials(tmp_path: Path) -> None:
    # GIVEN the README's dry-run command, a shell with no AWS credentials and an endpoint nothing listens on
    (command,) = re.findall(r"^\.venv/bin/python -m drill .*--dry-run$", (ROOT / "README.md").read_text(), re.M)
    argv = shlex.split(command)
    if not (ROOT / argv[0]).exists():  # the suite may run from another interpreter than the repo's .venv
        argv[0] = sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_CONFIG_FILE": os.devnull, "HOME": str(tmp_path)}
    # WHEN it runs from the repository's root
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    # THEN it prints the plan and exits 0
    assert result.returncode == 0, result.stderr
    assert "fault: the primary's API stops answering: aws lambda put-function-concurrency --region us-east-1" in (
        result.stdout
    )
    assert "the standby takes over: wait up to 180 s" in result.stdout


@pytest.mark.parametrize("key", [*StackOutputs.required(), "table_names.orders", "table_names.credit"])
def test_an_outputs_file_lacking_a_key_stops_with_one_line_naming_the_key_and_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    # GIVEN the sample prod outputs without `key`
    outputs = json.loads((ROOT / SAMPLE_PROD).read_text())
    parent, _, child = key.rpartition(".")
    del (outputs[parent] if parent else outputs)[child]
    broken = tmp_path / "prod.json"
    broken.write_text(json.dumps(outputs))
    # WHEN the drill reads it
    argv = dry_run_argv(tmp_path / "report")
    code = main([str(broken) if arg.endswith(str(SAMPLE_PROD)) else arg for arg in argv])
    # THEN it exits 2 with one line naming the key and the file, not a traceback
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(f"drill: {broken} has no '{key}'") and "\n" not in err


def test_a_report_directory_that_cannot_be_written_stops_the_drill_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_calls: list[str]
) -> None:
    # GIVEN a report directory under a file
    (tmp_path / "a-file").write_text("")
    argv = [arg for arg in dry_run_argv(tmp_path / "a-file" / "report") if arg != "--dry-run"]
    # WHEN the AWS drill starts THEN it stops at once, before resolving credentials
    assert main(argv) == 2
    assert "drill: cannot write the report to" in capsys.readouterr().err
    assert aws_calls == []


def test_the_aws_path_never_loads_the_local_runtime(tmp_path: Path) -> None:
    # GIVEN a fresh interpreter that imports the drill's entry point and the AWS target
    code = (
        "import sys, drill.__main__, drill.targets.aws;"
        f"assert drill.__main__.main({dry_run_argv(tmp_path / 'report')!r}) == 0;"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'devstack');"
        "assert not loaded, loaded"
    )
    # WHEN it runs the AWS drill's dry run
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    # THEN no devstack module was ever imported
    assert result.returncode == 0, result.stderr
    assert "the standby takes over: wait up to 180 s" in result.stdout


def test_the_outputs_the_drill_reads_are_the_ones_the_stacks_export() -> None:
    exported = set(re.findall(r'pulumi\.export\("([a-z_]+)"', INFRA_MAIN.read_text()))
    assert set(StackOutputs.required()) <= exported


def test_the_sample_outputs_hold_the_keys_the_drill_reads_and_no_others() -> None:
    for sample in (SAMPLE_PROD, SAMPLE_DR):
        raw = json.loads((ROOT / sample).read_text())
        assert set(StackOutputs.required()) <= set(raw) <= set(StackOutputs.__dataclass_fields__)
        assert set(raw["table_names"]) == {"orders", "credit"}
    readme = (ROOT / "README.md").read_text()
    assert all(f"`{key}`" in readme for key in [*StackOutputs.__dataclass_fields__, "table_names.orders"])
    assert set(StackOutputs.__dataclass_fields__) >= OPTIONAL_OUTPUTS


def test_the_switch_is_read_from_the_dr_stacks_failover_switch_output(tmp_path: Path) -> None:
    # GIVEN dr outputs naming the switch (as the stacks export it)
    raw = json.loads((ROOT / SAMPLE_DR).read_text())
    raw["failover_switch"] = {
        "region": "us-west-2",
        "alarm_name": "ame-platform-primary-out-of-service-staging",
        "namespace": "AME/Failover",
        "metric_name": "PrimaryOutOfService",
    }
    (tmp_path / "dr.json").write_text(json.dumps(raw))
    target = AwsTarget(StackOutputs.load(ROOT / SAMPLE_PROD), StackOutputs.load(tmp_path / "dr.json"))
    # THEN the plan sets and clears that alarm, and the preflight reads it
    plan = "\n".join(target.plan("failover"))
    assert plan.count("--alarm-name ame-platform-primary-out-of-service-staging") == 2
    assert "cloudwatch:DescribeAlarms ame-platform-primary-out-of-service-staging in us-west-2" in plan


def provision(aws_url: str, regions: tuple[str, str], switch_in: set[str], credit_table_in: set[str]) -> list[str]:
    """Two regions of the local endpoint shaped like the stacks: the tables (as the drill reads them), a
    Route 53 health check per region, and the switch alarm only where asked. Returns the check ids."""
    credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local", "endpoint_url": aws_url}
    source = boto3.client("dynamodb", region_name=PRIMARY, **credentials)
    for region in regions:
        dynamodb = boto3.client("dynamodb", region_name=region, **credentials)
        for table in (ORDERS_TABLE, CREDIT_TABLE) if region in credit_table_in else (ORDERS_TABLE,):
            described = source.describe_table(TableName=table)["Table"]
            keys = {k["AttributeName"] for k in described["KeySchema"]}
            dynamodb.create_table(
                TableName=table,
                KeySchema=described["KeySchema"],
                AttributeDefinitions=[a for a in described["AttributeDefinitions"] if a["AttributeName"] in keys],
                BillingMode="PAY_PER_REQUEST",
            )
        if region in switch_in:
            ensure_switch_alarm(boto3.client("cloudwatch", region_name=region, **credentials))
    route53 = boto3.client("route53", region_name="us-east-1", **credentials)
    config: Any = {"Type": "HTTPS", "FullyQualifiedDomainName": "api.example.com", "ResourcePath": "/v1/health"}
    return [
        route53.create_health_check(CallerReference=uuid.uuid4().hex, HealthCheckConfig=config)["HealthCheck"]["Id"]
        for _ in regions
    ]


def outputs_file(path: Path, stack: TwoRegionStack, region: str, serving: str, check_id: str) -> Path:
    """Outputs naming a provisioned region whose URLs are the running stack's: past the preflight, it would drill."""
    raw = {
        "region": region,
        "api_url": stack.public_url,
        "regional_api_url": stack.region_url(serving),
        "health_check_id": check_id,
        "table_names": {"orders": ORDERS_TABLE, "credit": CREDIT_TABLE},
        "token_url": stack.clients.token_url,
    }
    path.write_text(json.dumps(raw))
    return path


def switch_state(aws_url: str, region: str) -> str | None:
    cloudwatch = boto3.client("cloudwatch", region_name=region, endpoint_url=aws_url)
    alarms = cloudwatch.describe_alarms(AlarmNames=[FAILOVER_SWITCH_ALARM])["MetricAlarms"]
    return str(alarms[0]["StateValue"]) if alarms else None


@pytest.fixture
def local_credentials(stack: TwoRegionStack, monkeypatch: pytest.MonkeyPatch) -> str:
    """The drill's own clients (built as in AWS) pointed at the local endpoint."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.aws_url)
    for variable, value in drill_client_env(stack).items():
        monkeypatch.setenv(variable, value)
    return stack.aws_url


def test_the_preflight_reports_a_missing_switch_and_table_and_writes_nothing(
    stack: TwoRegionStack, local_credentials: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN stacks in eu-west-1 (prod) and eu-central-1 (dr) where dr lacks the switch alarm and its credit table
    prod, dr = "eu-west-1", "eu-central-1"
    prod_check, dr_check = provision(local_credentials, (prod, dr), switch_in={prod}, credit_table_in={prod})
    prod_switch = switch_state(local_credentials, prod)
    argv = [
        "failover",
        "--target",
        "aws",
        "--prod-outputs",
        str(outputs_file(tmp_path / "prod.json", stack, prod, PRIMARY, prod_check)),
        "--dr-outputs",
        str(outputs_file(tmp_path / "dr.json", stack, dr, SECONDARY, dr_check)),
        "--report-dir",
        str(tmp_path / "report"),
    ]
    # WHEN the drill runs for real
    code = main(argv)
    # THEN it names the account and regions, and stops with exit 2 and one line per failed check
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert f"target: AWS account 123456789012 as arn:aws:sts::123456789012:user/moto via {local_credentials}" in err[0]
    assert f"prod {prod}, dr {dr}" in err[0]
    assert err[1:] == [
        f"drill: cloudwatch:DescribeAlarms {FAILOVER_SWITCH_ALARM} in {dr}: not found (ResourceNotFound)",
        f"drill: dynamodb:DescribeTable ame-credit in {dr}: not found (ResourceNotFoundException)",
        f"drill: dynamodb:GetItem ame-credit in {dr}: not found (ResourceNotFoundException)",
        "drill: nothing was changed; fix the above and run again",
    ]
    # AND nothing was written: no alarm was set or created, no report
    assert switch_state(local_credentials, prod) == prod_switch
    assert switch_state(local_credentials, dr) is None
    assert not (tmp_path / "report" / "report.json").exists()


def test_the_preflight_passes_where_every_resource_exists(
    stack: TwoRegionStack, local_credentials: str, tmp_path: Path
) -> None:
    # GIVEN both stacks' tables and health checks, and the switch alarm in dr
    prod, dr = "ap-southeast-1", "ap-southeast-2"
    prod_check, dr_check = provision(local_credentials, (prod, dr), switch_in={dr}, credit_table_in={prod, dr})
    target = AwsTarget(
        StackOutputs.load(outputs_file(tmp_path / "prod.json", stack, prod, PRIMARY, prod_check)),
        StackOutputs.load(outputs_file(tmp_path / "dr.json", stack, dr, SECONDARY, dr_check)),
    )
    # WHEN the drill checks its access THEN it knows the account and finds nothing wrong
    access = target.check_access()
    assert access.identity is not None and "AWS account 123456789012" in access.identity
    assert access.problems == []
