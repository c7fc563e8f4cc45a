"""`python -m devstack.switch`, the operator's local command, against the local AWS endpoint (moto)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import boto3
import pytest

from chalicelib.adapters.failover_switch import CloudWatchFailoverSwitch, ensure_switch_alarm
from chalicelib.failover import Fence
from chalicelib.settings import FAILOVER_SWITCH_ALARM, Settings

pytestmark = pytest.mark.integration
STANDBY = "us-west-2"


def cloudwatch(settings: Settings) -> Any:
    return boto3.client("cloudwatch", region_name=STANDBY, endpoint_url=settings.aws_endpoint_url)


def switch_command(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": settings.aws_endpoint_url or ""}
    return subprocess.run(
        [sys.executable, "-m", "devstack.switch", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_switch_command_sets_the_alarm_in_the_standby_and_clears_it(settings: Settings) -> None:
    # GIVEN the alarm as `make run-dr` provisions it, read as the primary reads it
    client = cloudwatch(settings)
    ensure_switch_alarm(client)
    fence = Fence(CloudWatchFailoverSwitch(cloudwatch(settings), ttl_seconds=0), "primary")
    # WHEN an operator takes the primary out, as the banner and the README say
    out = switch_command(settings, "us-east-1", "out")
    # THEN the command says what it set and where, and the primary is fenced
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        f"switch: {FAILOVER_SWITCH_ALARM} in {STANDBY} = ALARM on {settings.aws_endpoint_url}: us-east-1 is out of "
        "service: fenced, its /v1/health and writes answer 503 until the switch is cleared"
    )
    assert not fence.in_service()
    # AND clearing it (the failback step) puts it back
    back = switch_command(settings, "us-east-1", "in")
    assert back.returncode == 0 and back.stdout.strip().endswith("routing returns once its health checks pass")
    assert fence.in_service()
    # AND only the primary can be named
    assert switch_command(settings, "us-west-2", "out").returncode == 2
