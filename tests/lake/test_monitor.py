"""Monitoring: PSI drift alerts on a shifted generated population and not on an unshifted one; the report."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb

from lake.config import LakeConfig
from lake.monitor import APPROVAL_BY_BAND_SQL, Monitor, connect, histogram, psi, write_report
from tests.lake.conftest import exports, small_traffic, transform

BINS = LakeConfig().score_bins


def _population(rng: random.Random, mean: float, n: int = 5000) -> list[int]:
    return [min(1000, max(0, round(rng.gauss(mean, 130)))) for _ in range(n)]


def test_psi_is_small_for_the_same_population_and_large_for_a_shifted_one() -> None:
    rng = random.Random(7)
    reference = histogram(_population(rng, 680), BINS)
    assert psi(reference, histogram(_population(rng, 680), BINS)) < 0.05
    assert psi(reference, histogram(_population(rng, 560), BINS)) > 0.25
    assert psi(reference, reference) == 0.0


def _monitored(root: Path, shift: float) -> list[str]:
    traffic = small_traffic(days=6, orders_per_day=10, decisions_per_day=300, score_shift=shift, shift_from_day=3)
    orders, credit = exports(root, traffic)
    transform(root).run(orders, credit)
    return Monitor(LakeConfig(root=root, reference_days=3, approval_rate_band=1.0)).run().alerts


def test_the_psi_alert_fires_on_a_shifted_population(tmp_path: Path) -> None:
    alerts = _monitored(tmp_path, shift=-150)
    drifted = [a for a in alerts if a.startswith("drift:")]
    assert {a.split(" on ")[1][:10] for a in drifted} == {"2026-11-05", "2026-11-06", "2026-11-07"}


def test_the_psi_alert_stays_quiet_on_an_unshifted_population(tmp_path: Path) -> None:
    assert not [a for a in _monitored(tmp_path, shift=0) if a.startswith("drift:")]


def test_an_approval_rate_outside_its_band_alerts(tmp_path: Path) -> None:
    traffic = small_traffic(days=4, orders_per_day=10, decisions_per_day=300, score_shift=-250, shift_from_day=3)
    orders, credit = exports(tmp_path, traffic)
    transform(tmp_path).run(orders, credit)
    alerts = Monitor(LakeConfig(root=tmp_path, reference_days=3, approval_rate_band=0.05, min_volume=30)).run().alerts
    assert any(a.startswith("approval: product") and "2026-11-05" in a for a in alerts)


def test_the_report_answers_approval_rate_by_band_per_day_with_plots(tmp_path: Path) -> None:
    traffic = small_traffic(days=3, orders_per_day=30, decisions_per_day=100)
    orders, credit = exports(tmp_path, traffic)
    transform(tmp_path).run(orders, credit)
    result = Monitor(LakeConfig(root=tmp_path)).run()
    report = write_report(result, tmp_path / "report")
    text = report.read_text()
    assert "## Approval rate by band per day" in text and "| 2026-11-02 | A |" in text
    pngs = sorted(p.name for p in report.parent.glob("*.png"))
    assert pngs == [
        "approval_rate_by_band.png",
        "data_quality.png",
        "envelope_failures.png",
        "psi.png",
        "score_distribution.png",
        "volume_granted.png",
    ]
    assert all((report.parent / p).read_bytes().startswith(b"\x89PNG") for p in pngs)

    con = connect(tmp_path)
    rows = con.execute(APPROVAL_BY_BAND_SQL).fetchall()
    decisions = con.execute("SELECT count(*) FROM fact_credit_decision").fetchone()
    assert decisions is not None and sum(r[2] for r in rows) == decisions[0] == 300
    assert isinstance(con, duckdb.DuckDBPyConnection)
