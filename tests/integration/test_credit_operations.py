"""Operator commands against the credit table on a real moto server."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from chalicelib.adapters.credit_dynamodb import PynamoCreditStore, credit_table
from chalicelib.adapters.dynamodb import ensure_table
from chalicelib.commands import backtest, publish_policy
from chalicelib.credit.policy_provider import PolicyProvider
from chalicelib.settings import Settings
from tests.unit.credit.test_services import World

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def table(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> PynamoCreditStore:
    name = f"credit-{uuid.uuid4().hex[:8]}"
    model = credit_table(name, settings.region, settings.aws_endpoint_url)
    ensure_table(model)
    monkeypatch.setenv("AME_CREDIT_TABLE", name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", settings.aws_endpoint_url or "")
    monkeypatch.setenv("AWS_REGION", settings.region)
    for variable in ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # --target local sets them
        monkeypatch.setenv(variable, os.environ.get(variable, "local"))
    return PynamoCreditStore(model)


def test_publishing_makes_a_policy_active_and_refuses_invalid_ones(table: PynamoCreditStore, tmp_path: Path) -> None:
    assert publish_policy.main([str(ROOT / "docs/examples/candidate-policy.json"), "--target", "local"]) == 0
    assert PolicyProvider(table).active().ref.version == "2026.12.0-candidate"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"policy_id": "x"}))
    assert publish_policy.main([str(bad), "--target", "local"]) == 2
    assert PolicyProvider(table).active().ref.version == "2026.12.0-candidate"


def test_backtest_from_the_table(table: PynamoCreditStore, capsys: pytest.CaptureFixture[str]) -> None:
    world = World(store=table)
    world.decide()
    world.decide(term_months=3)
    candidate = str(ROOT / "docs/examples/candidate-policy.json")
    status = backtest.main(["--candidate", candidate, "--from-table", "--target", "local", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["applications"] == 2 and report["baseline"] == "recorded decisions"
    assert report["outcomes_before"] == {"APPROVED": 1, "REFUSED": 1}
