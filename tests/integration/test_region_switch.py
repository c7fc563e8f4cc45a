"""The SSM region switch against the local AWS endpoint: missing, set, flipped, cached."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

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
