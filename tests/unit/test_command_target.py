"""Operator commands say where they act, and local defaults never reach AWS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.commands.target import TargetError, resolve_target

ROOT = Path(__file__).resolve().parents[2]


class FakeSts:
    def __init__(self, fails: bool = False) -> None:
        self.fails = fails

    def get_caller_identity(self) -> dict[str, Any]:
        if self.fails:
            raise RuntimeError("ExpiredToken")
        return {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/oncall"}


def test_local_uses_the_local_endpoint_and_placeholder_credentials() -> None:
    target = resolve_target("local", {})
    assert target.endpoint_url == "http://127.0.0.1:8100" and target.region == "us-east-1"
    assert target.overrides["AWS_ACCESS_KEY_ID"] == "local"
    assert target.describe() == "target: local endpoint http://127.0.0.1:8100, region us-east-1"


def test_local_follows_a_configured_port_or_endpoint() -> None:
    assert resolve_target("local", {"AME_AWS_PORT": "9100"}).endpoint_url == "http://127.0.0.1:9100"
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:7000", "AWS_ACCESS_KEY_ID": "mine", "AWS_REGION": "us-west-2"}
    target = resolve_target("local", env)
    assert (target.endpoint_url, target.region, target.overrides["AWS_ACCESS_KEY_ID"]) == (
        "http://127.0.0.1:7000",
        "us-west-2",
        "mine",
    )


def test_aws_drops_the_local_endpoint_and_names_the_account_first() -> None:
    target = resolve_target("aws", {"AWS_REGION": "us-west-2"})
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:8100", "AWS_REGION": "us-west-2"}
    target.apply(env)
    assert "AWS_ENDPOINT_URL" not in env and "AWS_ACCESS_KEY_ID" not in env
    assert target.describe(FakeSts()) == (
        "target: AWS account 123456789012 as arn:aws:iam::123456789012:user/oncall, region us-west-2"
    )
    with pytest.raises(TargetError, match="cannot resolve AWS credentials"):
        target.describe(FakeSts(fails=True))


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:8100"}, "AWS_ENDPOINT_URL is set"),
        ({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}, "placeholder"),
    ],
)
def test_aws_refuses_what_only_the_local_stack_accepts(env: dict[str, str], says: str) -> None:
    with pytest.raises(TargetError, match=says):
        resolve_target("aws", env)


def run_command(module: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "AME_AWS_PORT"}
    clean.update({"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent", **env})
    clean["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent"
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def test_the_runbook_replay_with_leftover_local_credentials_stops_before_touching_anything() -> None:
    # GIVEN the shell an engineer used for the local stack, now pointed at AWS during an incident
    result = run_command(
        "chalicelib.commands.replay_dlq", "--target", "aws", AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local"
    )
    assert result.returncode == 2
    assert "nothing replayed: AWS_ACCESS_KEY_ID holds the local stack's placeholder" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_aws_credentials_each_command_says_so_and_exits_2() -> None:
    policy = str(ROOT / "docs/examples/candidate-policy.json")
    for module, args in (
        ("chalicelib.commands.replay_dlq", ()),
        ("chalicelib.commands.publish_policy", (policy,)),
        ("chalicelib.commands.backtest", ("--candidate", policy, "--from-table")),
    ):
        result = run_command(module, *args, "--target", "aws", AWS_REGION="sa-east-1")
        assert result.returncode == 2, (module, result.stderr)
        assert "cannot resolve AWS credentials for region sa-east-1" in result.stderr, (module, result.stderr)
        assert "Traceback" not in result.stderr


def test_a_table_backtest_must_name_its_target() -> None:
    policy = str(ROOT / "docs/examples/candidate-policy.json")
    result = run_command("chalicelib.commands.backtest", "--candidate", policy, "--from-table")
    assert result.returncode == 2 and "--from-table reads a credit table: say which with --target" in result.stderr


def test_an_unreachable_local_endpoint_is_reported_without_a_traceback() -> None:
    result = run_command(
        "chalicelib.commands.replay_dlq",
        "--target",
        "local",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_MAX_ATTEMPTS="1",
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "target: local endpoint http://127.0.0.1:9, region us-east-1",
        'replay stopped: Could not connect to the endpoint URL: "http://127.0.0.1:9/"',
    ]
