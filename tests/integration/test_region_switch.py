"""The SSM region switch against the local AWS endpoint: missing, set, flipped, cached."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib.adapters.ssm_switch import SsmRegionSwitch
from chalicelib.settings import Settings, region_switch_parameter

pytestmark = pytest.mark.integration


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def ssm(settings: Settings) -> Any:
    return boto3.client("ssm", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)


def test_a_deleted_parameter_means_in_service(settings: Settings) -> None:
    # GIVEN a region held out of service
    client, name, ticks = ssm(settings), f"/ame-platform/{settings.orders_table}/deleted", Ticks()
    client.put_parameter(Name=name, Value="true", Type="String")
    switch = SsmRegionSwitch(client, name, ttl_seconds=1, monotonic=ticks)
    assert not switch.in_service()
    # WHEN the switch is removed altogether THEN the region serves again
    client.delete_parameter(Name=name)
    ticks.now = 1.0
    assert switch.in_service()


def test_flipping_the_switch_takes_effect_after_the_cache_expires(settings: Settings) -> None:
    # GIVEN a switch parameter that says in service
    client, name, ticks = ssm(settings), f"/ame-platform/{settings.orders_table}/out-of-service", Ticks()
    client.put_parameter(Name=name, Value="false", Type="String")
    switch = SsmRegionSwitch(client, name, ttl_seconds=5, monotonic=ticks)
    assert switch.in_service()
    # WHEN an operator flips it
    client.put_parameter(Name=name, Value="true", Type="String", Overwrite=True)
    # THEN the cached value holds until the TTL passes, then the region is out of service
    assert switch.in_service()
    ticks.now = 5.0
    assert not switch.in_service()


class Unreachable:
    """An SSM client whose endpoint can be made to stop answering."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.down = False

    def get_parameter(self, **kwargs: Any) -> Any:
        if self.down:
            raise EndpointConnectionError(endpoint_url="https://ssm.invalid")
        return self.real.get_parameter(**kwargs)


def test_an_unreachable_ssm_keeps_the_last_known_value(settings: Settings) -> None:
    # GIVEN a switch last read as out of service
    client, name, ticks = ssm(settings), f"/ame-platform/{settings.orders_table}/unreachable", Ticks()
    client.put_parameter(Name=name, Value="true", Type="String")
    flaky = Unreachable(client)
    switch = SsmRegionSwitch(flaky, name, ttl_seconds=1, monotonic=ticks)
    assert not switch.in_service()
    # WHEN SSM stops answering THEN the region stays out: a blip never flips it either way
    flaky.down = True
    ticks.now = 1.0
    assert not switch.in_service()


def switch_command(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": settings.aws_endpoint_url or ""}
    return subprocess.run(
        [sys.executable, "-m", "devstack.switch", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_switch_command_takes_a_region_out_and_back_as_health_reads_it(settings: Settings) -> None:
    # GIVEN the SSM parameter a region's /v1/health reads, as `make run-dr` names it
    name = region_switch_parameter("eu-west-3")
    region_ssm = boto3.client("ssm", region_name="eu-west-3", endpoint_url=settings.aws_endpoint_url)
    switch = SsmRegionSwitch(region_ssm, name, ttl_seconds=0)
    # WHEN an operator takes the region out, as the banner and the README say
    out = switch_command(settings, "eu-west-3", "out")
    # THEN the command says what it set and where, and the region is out of service
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        f"switch: {name} = true on {settings.aws_endpoint_url}: eu-west-3 is out of service: its /v1/health answers 503"
    )
    assert out.stderr.strip() == f"target: local endpoint {settings.aws_endpoint_url}, region eu-west-3"
    assert not switch.in_service()
    # AND putting it back in serves again
    back = switch_command(settings, "eu-west-3", "in")
    assert back.returncode == 0 and back.stdout.strip().endswith("eu-west-3 is in service again")
    assert switch.in_service()
