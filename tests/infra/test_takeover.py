"""The dr stack's sweeper takes over from a primary that stops answering: its setting, and only its."""

from __future__ import annotations

from pathlib import Path

import pytest

from ame_infra.mocked import Inventory, run_stack
from chalicelib.settings import Settings
from tests.infra.conftest import app_functions
from tests.infra.test_stacks import function

PRIMARY_HEALTH = "https://abc123.execute-api.us-east-1.amazonaws.com/api/v1/health"


@pytest.fixture(scope="module")
def watching_dr(package_dir: Path) -> Inventory:
    """dr configured with prod's `regional_api_url` output + /v1/health (docs/deployment.md, Deploy)."""
    return run_stack("dr", package_dir, {"ame-platform:peerHealthUrl": PRIMARY_HEALTH})


def environments(stack: Inventory) -> dict[str, dict[str, str]]:
    return {f.inputs["handler"]: f.inputs["environment"]["variables"] for f in app_functions(stack)}


def test_only_the_dr_sweeper_gets_the_primarys_health_url(watching_dr: Inventory) -> None:
    holders = {handler for handler, env in environments(watching_dr).items() if "AME_PEER_HEALTH_URL" in env}
    assert holders == {"app.sweep_stuck_orders"}
    env = function(watching_dr, "app.sweep_stuck_orders").inputs["environment"]["variables"]
    assert env["AME_PEER_HEALTH_URL"] == PRIMARY_HEALTH
    settings = Settings.from_env(env)  # as the function reads it
    assert (settings.role, settings.peer_health_url, settings.peer_probes) == ("dr", PRIMARY_HEALTH, 3)


def test_prod_never_watches_its_standby(prod: Inventory, dr: Inventory) -> None:
    # prod: nobody holds the setting (and its config refuses one); dr unset: the latch is off
    for stack in (prod, dr):
        assert not [h for h, env in environments(stack).items() if "AME_PEER_HEALTH_URL" in env], stack.stack


def test_an_unset_peer_health_url_warns_that_failback_would_be_automatic(
    package_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pulumi

    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    run_stack("dr", package_dir)
    (warning,) = [w for w in warnings if "peerHealthUrl" in w]
    assert "never takes over" in warning and "regional_api_url" in warning
    warnings.clear()
    run_stack("dr", package_dir, {"ame-platform:peerHealthUrl": PRIMARY_HEALTH})
    assert not [w for w in warnings if "peerHealthUrl" in w]
