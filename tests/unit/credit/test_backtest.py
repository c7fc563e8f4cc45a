from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.commands import backtest as cli
from chalicelib.credit.backtest import backtest, cases_from_decisions, cases_from_file, render
from chalicelib.credit.engine import CompiledPolicy
from chalicelib.credit.policy import default_policy, parse_policy
from tests.unit.credit.test_services import World

ROOT = Path(__file__).resolve().parents[3]
TODAY = date(2026, 11, 22)


def stricter() -> CompiledPolicy:
    document = json.loads(json.dumps(default_policy().document))
    document["version"] = "strict"
    document["rules"][0]["when"]["value"] = 750  # SCORE_BELOW_MINIMUM now below 750
    return CompiledPolicy(parse_policy(document))


def test_recorded_decisions_are_compared_with_the_candidate() -> None:
    world = World(score=720)
    world.decide()
    world.decide(existing_debts=Decimal("2000.00"))
    report = backtest(cases_from_decisions(world.store.all_decisions()), stricter(), baseline=None)
    assert report.baseline == "recorded decisions"
    assert report.outcomes_before == {"APPROVED": 1, "REVIEW": 1}
    assert report.outcomes_after == {"REFUSED": 2}
    assert report.transitions == {("APPROVED", "REFUSED"): 1, ("REVIEW", "REFUSED"): 1}
    assert report.reasons_after["SCORE_BELOW_MINIMUM"] == 2
    text = render(report)
    assert "approval rate: 50.0% -> 0.0% (-50.0) points" in text and "flipped: 2" in text


def test_same_policy_flips_nothing() -> None:
    world = World()
    world.decide()
    report = backtest(cases_from_decisions(world.store.all_decisions()), CompiledPolicy(default_policy()), None)
    assert report.flips == [] and report.total == 1


def test_csv_and_jsonl_applications_are_read() -> None:
    csv_text = (
        "id,amount,term_months,monthly_income,existing_debts,score,score_age_days\na,20000.00,24,8000,1200,720,3\n"
    )
    (case,) = cases_from_file(csv_text, "apps.csv", TODAY)
    assert (case.label, case.application.score, case.application.amount) == ("a", 720, Decimal("20000.00"))
    jsonl = '{"amount": "500.00", "term_months": 12, "monthly_income": "1000", "score": null}\n'
    (no_score,) = cases_from_file(jsonl, "apps.jsonl", TODAY)
    assert no_score.application.score is None and no_score.label == "row 1"


def test_bad_rows_name_the_row() -> None:
    with pytest.raises(ValueError, match="row 2"):
        cases_from_file('{"amount": "1", "term_months": 1, "monthly_income": "1"}\n{"amount": "x"}\n', "a.jsonl", TODAY)


def test_command_line_runs_the_shipped_example(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(
        [
            "--candidate", str(ROOT / "docs/examples/candidate-policy.json"),
            "--input", str(ROOT / "docs/examples/applications.jsonl"),
            "--json",
        ]
    )  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["applications"] == 300
    assert report["flips"] and all(f["before"] != f["after"] for f in report["flips"])


def test_command_line_refuses_an_invalid_candidate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"policy_id": "x"}')
    assert cli.main(["--candidate", str(bad), "--input", str(ROOT / "docs/examples/applications.jsonl")]) == 2
    assert "invalid policy" in capsys.readouterr().err
