"""`python -m lake backfill|report` over export files: the printed lines the README documents."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from lake.__main__ import EXIT_QUALITY, main
from tests.lake.conftest import exports, small_traffic

ROOT = Path(__file__).resolve().parents[2]


def test_backfill_prints_the_run_the_manifest_and_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "lake"
    exports(root, small_traffic())
    monkeypatch.setenv("AME_LAKE_ROOT", str(root))
    monkeypatch.setenv("AME_APP_SECRET", "tests-only-lake-secret-0123456789abcdef")

    assert main(["backfill", "--from", "2026-11-02", "--to", "2026-11-03", "--no-enrich"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        r"lake: run [0-9a-f]{16} days 2026-11-02\.\.2026-11-03: 80 orders, 160 credit decisions curated,"
        r" 0 rows quarantined",
        lines[0],
    )
    assert lines[1].startswith("lake: manifest ") and Path(lines[1].split(" ", 2)[2]).exists()
    assert lines[-1] == f"lake: report {root / 'report' / 'report.md'}"
    assert not (root / "curated/fact_credit_decision/dt=2026-11-04").exists()


def test_too_much_quarantined_fails_the_run_with_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "lake"
    traffic = small_traffic(days=1)
    orders = list(traffic.orders())
    for order in orders[:5]:
        order["request"]["S"] = order["request"]["S"].replace('"amount": "', '"amount": "-')
    from lake.transform import ORDERS_TABLE
    from tests.lake.conftest import export

    export(root, ORDERS_TABLE, orders)
    monkeypatch.setenv("AME_LAKE_ROOT", str(root))
    monkeypatch.setenv("AME_APP_SECRET", "tests-only-lake-secret-0123456789abcdef")
    assert main(["backfill", "--from", "2026-11-02", "--to", "2026-11-02", "--no-enrich"]) == EXIT_QUALITY
    out = capsys.readouterr().out
    assert "lake: ALERT quality: orders on 2026-11-02: 12.50% of rows quarantined (threshold 1.00%)" in out


def test_the_documented_query_answers_the_approval_rate_by_band_per_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a curated lake of two days, and the query README.md shows (make lake-sql runs this file)
    query = (ROOT / "lake" / "queries" / "approval_rate_by_band.sql").read_text()
    assert query.strip() in (ROOT / "README.md").read_text()
    root = tmp_path / "lake"
    exports(root, small_traffic())
    monkeypatch.setenv("AME_LAKE_ROOT", str(root))
    monkeypatch.setenv("AME_APP_SECRET", "tests-only-lake-secret-0123456789abcdef")
    assert main(["backfill", "--from", "2026-11-02", "--to", "2026-11-03", "--no-enrich"]) == 0
    capsys.readouterr()

    # WHEN it is run through `python -m lake sql`
    monkeypatch.setattr("sys.stdin", io.StringIO(query))
    assert main(["sql", "-"]) == 0

    # THEN each day's bands come out with their counts and rates
    out = capsys.readouterr().out
    assert all(column in out for column in ("day", "band", "decisions", "approved", "approval_rate"))
    assert "2026-11-02" in out and "2026-11-03" in out


def test_a_bad_query_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AME_LAKE_ROOT", str(tmp_path / "lake"))
    assert main(["sql", "SELECT nothing FROM fact_credit_decision"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lake sql: ") and err.count("\n") == 1
    assert main(["sql", "  "]) == 2
