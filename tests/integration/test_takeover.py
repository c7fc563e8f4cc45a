"""The standby's takeover against a local endpoint that enforces IAM: the dr sweeper's user may set the
switch (its deployed grants, `infra/ame_infra/grants.py`), the primary's sweeper may not."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.failover_switch import CloudWatchSwitchLatch, ensure_switch_alarm, set_primary_out_of_service
from chalicelib.bootstrap import build_container
from chalicelib.settings import FAILOVER_SWITCH_ALARM, Settings
from devstack.permissions import FunctionUser, create_function_users
from devstack.stack import ROOT, free_port, wait_until

pytestmark = pytest.mark.integration
STANDBY = "us-west-2"


@pytest.fixture(scope="module")
def enforcing_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, FunctionUser]]]:
    """moto enforcing IAM (as the local stack runs it), with one user per function kind."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto-iam") / "moto.log").open("wb")
    argv = [sys.executable, "-m", "devstack.permissions", "serve", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(f"{url}/moto-api/", 30, process)
        yield url, create_function_users(url)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def cloudwatch(url: str, user: FunctionUser | None = None) -> Any:
    keys = user.env() if user else {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    return boto3.client(
        "cloudwatch",
        region_name=STANDBY,
        endpoint_url=url,
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
    )


def alarm_state(url: str) -> str:
    (alarm,) = cloudwatch(url).describe_alarms(AlarmNames=[FAILOVER_SWITCH_ALARM])["MetricAlarms"]
    return str(alarm["StateValue"])


def test_the_dr_sweeper_takes_over_from_a_primary_that_does_not_answer_under_its_own_grants(
    enforcing_endpoint: tuple[str, dict[str, FunctionUser]], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, users = enforcing_endpoint
    admin = cloudwatch(url)
    ensure_switch_alarm(admin)
    set_primary_out_of_service(admin, False)
    # GIVEN the dr sweeper's container, as its user, watching a primary nothing answers for
    for name, value in users["standby-sweeper"].env().items():
        monkeypatch.setenv(name, value)
    dead = f"http://127.0.0.1:{free_port()}/v1/health"
    standby = replace(
        settings,
        aws_endpoint_url=url,
        region=STANDBY,
        role="dr",
        failover_switch_region=STANDBY,
        peer_health_url=dead,
        peer_probes=2,
        peer_probe_interval=5.5,  # the least span the latch accepts: more than the primary's 5 s switch cache
        peer_probe_timeout=0.5,
    )
    takeover = build_container(standby).takeover
    assert takeover is not None
    # WHEN it runs THEN it sets the switch, allowed by its grants
    watch = takeover.watch()
    assert watch.took_over and watch.failures == ("ConnectionError", "ConnectionError")
    assert alarm_state(url) == "ALARM"
    # AND the next run leaves it set without probing: clearing it is the operator's step
    assert not takeover.watch().probed and alarm_state(url) == "ALARM"
    set_primary_out_of_service(admin, False)


def test_the_primarys_sweeper_may_not_set_the_switch(enforcing_endpoint: tuple[str, dict[str, FunctionUser]]) -> None:
    url, users = enforcing_endpoint
    ensure_switch_alarm(cloudwatch(url))
    with pytest.raises(ClientError) as denied:
        CloudWatchSwitchLatch(cloudwatch(url, users["sweeper"])).hold_primary_out()
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # moto: code "403", AWS: AccessDenied
    assert alarm_state(url) != "ALARM"
