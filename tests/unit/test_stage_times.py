"""The stage-time summary `make test` prints: what it reads from the Makefile and how it names suites."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.stage_times import recorded_stages, suite_of

ROOT = Path(__file__).resolve().parents[2]


def test_suites_are_named_by_their_folder() -> None:
    assert suite_of("tests/e2e/test_orders_e2e.py::test_x") == "e2e"
    assert suite_of("tests/unit/credit/test_engine.py::test_y[a/b]") == "unit"


def test_stages_recorded_by_make_are_read_in_order(tmp_path: Path) -> None:
    times = tmp_path / "stage-times.tsv"
    times.write_text("install\t31.20\nruff check\t0.04\nmypy\t18.90\n")
    assert recorded_stages(str(times)) == [("install", 31.2), ("ruff check", 0.04), ("mypy", 18.9)]
    assert recorded_stages(str(tmp_path / "absent.tsv")) == [] and recorded_stages(None) == []


def test_the_summary_comes_before_pytests_closing_line(tmp_path: Path) -> None:
    # GIVEN stage times recorded by make, WHEN pytest runs one quick suite file
    times = tmp_path / "stage-times.tsv"
    times.write_text("mypy\t18.90\n")
    env = {"PATH": "/usr/bin:/bin", "AME_STAGE_TIMES": str(times)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/test_documents.py"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    lines = result.stdout.strip().splitlines()
    # THEN the table lists make's stages and the suite, and pytest's own count stays last
    assert result.returncode == 0, result.stdout
    assert any(line.split() == ["mypy", "18.90", "s"] for line in lines)
    assert any(line.startswith("unit ") for line in lines)
    assert " passed" in lines[-1]
