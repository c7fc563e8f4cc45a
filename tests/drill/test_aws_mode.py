"""The AWS mode's steps, run against the local endpoint where the same API exists there.

The switch is the real mechanism: an SSM parameter per region that `/v1/health` reads. Flipping
it through `AwsTarget` must make the region unhealthy and move traffic, then bring it back.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from chalicelib.adapters.http_partners import HttpTrafficProbe
from chalicelib.polling import wait_for
from devstack.regions import PRIMARY, SECONDARY, TwoRegionConfig, TwoRegionStack
from drill.__main__ import main
from drill.targets import AwsTarget, StackOutputs

pytestmark = pytest.mark.drill
ROOT = Path(__file__).resolve().parents[2]
INFRA_MAIN = ROOT / "infra" / "__main__.py"


@pytest.fixture(scope="module")
def stack() -> Iterator[TwoRegionStack]:
    with TwoRegionStack(TwoRegionConfig.on_free_ports(check_interval=0.5, failure_threshold=2)) as running:
        yield running


def outputs(stack: TwoRegionStack, region: str, public_url: str) -> StackOutputs:
    return StackOutputs(
        region, public_url, stack.region_url(region), f"hc-{region}", {"orders": "ame-orders", "credit": "ame-credit"}
    )


@pytest.fixture
def target(stack: TwoRegionStack, monkeypatch: pytest.MonkeyPatch) -> AwsTarget:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    prod, dr = outputs(stack, PRIMARY, stack.public_url), outputs(stack, SECONDARY, stack.public_url)
    return AwsTarget(prod, dr, endpoint_url=stack.aws_url)


def region_answering(stack: TwoRegionStack) -> str | None:
    return HttpTrafficProbe(requests.Session(), stack.public_url).serving_region()


def test_the_switch_takes_the_region_out_and_brings_it_back(stack: TwoRegionStack, target: AwsTarget) -> None:
    # WHEN the drill's fault step flips the primary's switch
    target.inject_fault(PRIMARY)
    # THEN the primary's own health check fails (after the switch's 5 s cache) and traffic moves to DR
    assert wait_for(lambda: not target.healthy(PRIMARY), timeout=15)
    assert wait_for(lambda: region_answering(stack) == SECONDARY, timeout=10)
    assert target.healthy(SECONDARY)
    # WHEN the failback step flips it back THEN the primary serves again
    target.recover(PRIMARY)
    assert wait_for(lambda: target.healthy(PRIMARY), timeout=15)
    assert wait_for(lambda: region_answering(stack) == PRIMARY, timeout=10)


def test_items_are_read_from_each_region_directly(stack: TwoRegionStack, target: AwsTarget) -> None:
    from drill.canary import CanaryTraffic

    traffic = CanaryTraffic(stack.public_url, "aws-mode", target.canary_subjects())
    traffic.write_and_read()
    (written,) = traffic.acknowledged()
    assert target.data.item(PRIMARY, written.kind, written.key) is not None
    assert wait_for(lambda: target.data.item(SECONDARY, written.kind, written.key) is not None, timeout=5)


def dry_run_argv(directory: Path) -> list[str]:
    """`failover --target aws --dry-run` over saved stack outputs that point at nothing reachable."""
    for stack_name, region in (("prod", "us-east-1"), ("dr", "us-west-2")):
        raw = {
            "region": region,
            "api_url": "https://api.ame.example.com",
            "regional_api_url": f"https://x.execute-api.{region}.amazonaws.com/api",
            "health_check_id": f"hc-{stack_name}",
            "table_names": {"orders": "ame-orders", "credit": "ame-credit", "idempotency": "ame-idempotency"},
        }
        (directory / f"{stack_name}.json").write_text(json.dumps(raw))
    return [
        "failover",
        "--target",
        "aws",
        "--prod-outputs",
        str(directory / "prod.json"),
        "--dr-outputs",
        str(directory / "dr.json"),
        "--dry-run",
        "--report-dir",
        str(directory / "report"),
    ]


def test_dry_run_prints_every_step_and_calls_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_aws(*args: object, **kwargs: object) -> None:
        raise AssertionError("a dry run called AWS")

    for step in ("set_switch", "detected_unhealthy", "replication_lag_ms", "healthy"):
        monkeypatch.setattr(AwsTarget, step, no_aws)
    # GIVEN outputs as `pulumi stack output --json` writes them, pointing at nothing reachable
    argv = dry_run_argv(tmp_path)
    # WHEN the AWS drill runs with --dry-run
    code = main(argv)
    # THEN it lists the steps, flipping the switch both ways, and exits 0 without a report
    printed = capsys.readouterr().out.strip().splitlines()
    steps = AwsTarget(StackOutputs.load(tmp_path / "prod.json"), StackOutputs.load(tmp_path / "dr.json")).plan()
    assert code == 0 and [line.split(". ", 1)[1] for line in printed] == steps
    assert any("--name /ame-platform/us-east-1/out-of-service --value true" in step for step in steps)
    assert any("--name /ame-platform/us-east-1/out-of-service --value false" in step for step in steps)
    assert not (tmp_path / "report").exists()


def test_the_aws_path_never_loads_the_local_runtime(tmp_path: Path) -> None:
    # GIVEN a fresh interpreter that imports the drill's entry point and the AWS target
    code = (
        "import sys, drill.__main__, drill.targets.aws;"
        f"assert drill.__main__.main({dry_run_argv(tmp_path)!r}) == 0;"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'devstack');"
        "assert not loaded, loaded"
    )
    # WHEN it runs the AWS drill's dry run
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    # THEN no devstack module was ever imported
    assert result.returncode == 0, result.stderr
    assert "fault: ssm put-parameter" in result.stdout


def test_the_outputs_the_drill_reads_are_the_ones_the_stacks_export() -> None:
    exported = set(re.findall(r'pulumi\.export\("([a-z_]+)"', INFRA_MAIN.read_text()))
    assert set(StackOutputs.__dataclass_fields__) <= exported
