"""The SSM region switch against the local AWS endpoint: missing, set, flipped, cached."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from chalicelib.adapters.ssm_switch import SsmRegionSwitch
from chalicelib.settings import Settings

pytestmark = pytest.mark.integration


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def ssm(settings: Settings) -> Any:
    return boto3.client("ssm", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)


def test_a_missing_parameter_means_in_service(settings: Settings) -> None:
    assert SsmRegionSwitch(ssm(settings), f"/ame-platform/{settings.orders_table}/none").in_service()


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


def test_an_unreachable_ssm_keeps_the_last_known_value(settings: Settings) -> None:
    broken = boto3.client("ssm", region_name=settings.region, endpoint_url="http://127.0.0.1:9")
    ticks = Ticks()
    switch = SsmRegionSwitch(broken, "/ame-platform/x/out-of-service", ttl_seconds=0, monotonic=ticks)
    assert switch.in_service()
