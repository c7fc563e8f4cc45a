"""Business monitoring over the curated layer: rates, volume, score drift (PSI), data quality, envelope failures.

Per day: approval/refusal/review rates by risk band and by product, volume granted, the score
distribution and its population stability index against a reference window, the quarantine rate of
each dataset, and envelope failure rates by area and by partner. Alerts: PSI above `psi_alert`
(0.25, the usual "significant shift"), or a band's or product's approval rate further than
`approval_rate_band` from its rate in the reference window (with at least `min_volume` decisions).
The report is Markdown with PNG plots (matplotlib, Agg) a product owner reads top to bottom.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from lake import schema as s
from lake.config import LakeConfig
from lake.layout import partition_dir

APPROVAL_BY_BAND_SQL = (Path(__file__).parent / "queries" / "approval_rate_by_band.sql").read_text().strip()
"""Approval rate by risk band per day over the curated layer: the report's table, `make lake-sql`'s default."""


def psi(expected: Sequence[float], actual: Sequence[float], floor: float = 1e-4) -> float:
    """Population stability index of `actual` against `expected` (counts per bin, same bins).

    sum((a - e) * ln(a / e)) over bin shares, empty bins floored at `floor` so the log is finite.
    """
    total_e, total_a = sum(expected), sum(actual)
    if total_e <= 0 or total_a <= 0:
        return 0.0
    value = 0.0
    for e, a in zip(expected, actual, strict=True):
        pe, pa = max(e / total_e, floor), max(a / total_a, floor)
        value += (pa - pe) * math.log(pa / pe)
    return value


def histogram(scores: Sequence[int], bins: Sequence[int]) -> list[int]:
    """Counts of `scores` in [bins[i], bins[i+1])."""
    counts = [0] * (len(bins) - 1)
    for score in scores:
        for i in range(len(bins) - 1):
            if bins[i] <= score < bins[i + 1]:
                counts[i] += 1
                break
    return counts


@dataclass
class MonitorResult:
    days: list[str]
    reference: list[str]
    rates: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    volume: list[dict[str, Any]] = field(default_factory=list)
    psi: dict[str, float] = field(default_factory=dict)
    histograms: dict[str, list[int]] = field(default_factory=dict)
    quality: list[dict[str, Any]] = field(default_factory=list)
    failures_by_area: list[dict[str, Any]] = field(default_factory=list)
    failures_by_partner: list[dict[str, Any]] = field(default_factory=list)
    approval_by_band: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)


def connect(root: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB session with a view per curated table (and quality_metrics) over the lake's files."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table in (*s.FACTS, *s.DIMENSIONS, s.QUALITY_METRICS):
        base = partition_dir(root, table, None)
        glob = "dt=*/*.parquet" if table.partitioned else "*.parquet"
        pattern = str(base / glob).replace("'", "''")
        if not list(base.glob(glob)):
            empty = table.schema.append(pa.field(s.DT, pa.string())) if table.partitioned else table.schema
            con.register(table.name, empty.empty_table())
            continue
        hive = ", hive_partitioning = true, hive_types = {'dt': VARCHAR}" if table.partitioned else ""
        con.execute(f"CREATE VIEW {table.name} AS SELECT * FROM read_parquet('{pattern}'{hive})")
    return con


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class Monitor:
    def __init__(self, config: LakeConfig) -> None:
        self.config = config

    def run(self, reference: tuple[str, str] | None = None) -> MonitorResult:
        con = connect(self.config.root)
        days = [r["dt"] for r in _rows(con, "SELECT DISTINCT dt FROM fact_credit_decision ORDER BY dt")]
        if reference is None:
            ref_days = days[: self.config.reference_days]
        else:
            ref_days = [d for d in days if reference[0] <= d <= reference[1]]
        result = MonitorResult(days, ref_days)
        con.execute("CREATE TABLE ref_days AS SELECT unnest(?::VARCHAR[]) AS dt", [ref_days])
        result.approval_by_band = _rows(con, APPROVAL_BY_BAND_SQL)
        rates = """SELECT {group} AS {name}, dt, count(*) AS decisions,
                avg((outcome = 'APPROVED')::INTEGER) AS approval_rate,
                avg((outcome = 'REFUSED')::INTEGER) AS refusal_rate,
                avg((outcome = 'REVIEW')::INTEGER) AS review_rate
            FROM fact_credit_decision GROUP BY ALL ORDER BY dt, {name}"""
        result.rates = _rows(con, rates.format(group="risk_band", name="band"))
        result.products = _rows(con, rates.format(group="product", name="product"))
        result.volume = _rows(
            con,
            """SELECT dt, product, coalesce(sum(approved_amount), 0) AS granted, count(*) FILTER (WHERE approved) AS n
            FROM fact_credit_decision GROUP BY ALL ORDER BY dt, product""",
        )
        bins = self.config.score_bins
        cases = " ".join(f"WHEN score < {bins[i + 1]} THEN {i}" for i in range(len(bins) - 1))
        hist = _rows(
            con,
            f"""SELECT dt, CASE {cases} END AS bin, count(*) AS n FROM fact_credit_decision
            WHERE score IS NOT NULL GROUP BY ALL ORDER BY dt, bin""",
        )
        for day in days:
            counts = [0] * (len(bins) - 1)
            for row in hist:
                if row["dt"] == day and row["bin"] is not None:
                    counts[row["bin"]] = row["n"]
            result.histograms[day] = counts
        reference_hist = [sum(result.histograms[d][i] for d in ref_days) for i in range(len(bins) - 1)]
        result.histograms["reference"] = reference_hist
        for day in days:
            result.psi[day] = psi(reference_hist, result.histograms[day])
            if day not in ref_days and result.psi[day] > self.config.psi_alert:
                result.alerts.append(
                    f"drift: score PSI {result.psi[day]:.3f} on {day} > {self.config.psi_alert} (reference"
                    f" {ref_days[0]}..{ref_days[-1]})"
                )
        self._rate_alerts(result, result.rates, "band")
        self._rate_alerts(result, result.products, "product")
        result.quality = _rows(
            con,
            """SELECT dt, dataset, value AS quarantine_rate FROM quality_metrics
            WHERE metric = 'quarantine_rate' ORDER BY dt, dataset""",
        )
        result.failures_by_area = _rows(
            con,
            """SELECT dt, area_id, count(*) AS orders, avg((status = 'FAILED')::INTEGER) AS failed_rate,
                avg((status = 'NO_QUORUM')::INTEGER) AS no_quorum_rate
            FROM fact_envelope_order GROUP BY ALL ORDER BY dt, area_id""",
        )
        result.failures_by_partner = _rows(
            con,
            """WITH totals AS (SELECT dt, count(*) AS orders FROM fact_envelope_order GROUP BY dt)
            SELECT f.dt, f.failure_partner AS partner, count(*) AS failures, count(*) / any_value(t.orders) AS rate
            FROM fact_envelope_order f JOIN totals t USING (dt)
            WHERE f.failure_partner IS NOT NULL GROUP BY f.dt, f.failure_partner ORDER BY f.dt, partner""",
        )
        con.close()
        return result

    def _rate_alerts(self, result: MonitorResult, rows: list[dict[str, Any]], name: str) -> None:
        reference: dict[str, tuple[int, float]] = {}
        for row in rows:
            if row["dt"] in result.reference:
                n, approved = reference.get(row[name], (0, 0.0))
                reference[row[name]] = (n + row["decisions"], approved + row["approval_rate"] * row["decisions"])
        for row in rows:
            if row["dt"] in result.reference or row[name] not in reference:
                continue
            n, approved = reference[row[name]]
            if n < self.config.min_volume or row["decisions"] < self.config.min_volume:
                continue
            expected = approved / n
            if abs(row["approval_rate"] - expected) > self.config.approval_rate_band:
                result.alerts.append(
                    f"approval: {name} {row[name]} on {row['dt']}: {row['approval_rate']:.1%} vs"
                    f" {expected:.1%} in the reference (band ±{self.config.approval_rate_band:.0%},"
                    f" {row['decisions']} decisions)"
                )


def _legend(ax: Any, **options: Any) -> None:
    """A legend only when something was drawn (a lake without decisions draws empty axes)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**options)


def write_report(result: MonitorResult, out: Path, run_alerts: Sequence[str] = ()) -> Path:
    """report.md, metrics.json and the PNGs in `out`; returns report.md's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    days = result.days
    short = [d[5:] for d in days]

    def save(fig: Any, name: str) -> str:
        fig.tight_layout()
        fig.savefig(out / name, dpi=90, metadata={"Software": None})
        plt.close(fig)
        return name

    plots = []
    fig, ax = plt.subplots(figsize=(8, 4))
    bands = sorted({r["band"] for r in result.rates})
    for band in bands:
        by_day = {r["dt"]: r["approval_rate"] for r in result.rates if r["band"] == band}
        ax.plot(short, [by_day.get(d, float("nan")) for d in days], marker="o", label=band)
    ax.set(title="Approval rate by risk band", ylabel="approved / decisions", ylim=(0, 1))
    _legend(ax, title="band", ncol=3, fontsize=8)
    plots.append(("Approval rate by risk band, per day", save(fig, "approval_rate_by_band.png")))

    fig, ax = plt.subplots(figsize=(8, 4))
    products = sorted({r["product"] for r in result.volume})
    bottom = [0.0] * len(days)
    for product in products:
        by_day = {r["dt"]: float(r["granted"]) for r in result.volume if r["product"] == product}
        heights = [by_day.get(d, 0.0) / 1e6 for d in days]
        ax.bar(short, heights, bottom=bottom, label=product)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set(title="Volume granted per day", ylabel="R$ million")
    _legend(ax, fontsize=8)
    plots.append(("Volume granted per day, by product", save(fig, "volume_granted.png")))

    fig, ax = plt.subplots(figsize=(8, 4))
    ref = result.histograms.get("reference", [])
    latest = result.histograms.get(days[-1], []) if days else []
    labels = [str(i) for i in range(len(ref))]
    if ref and sum(ref) and latest and sum(latest):
        ax.bar([i - 0.2 for i in range(len(ref))], [x / sum(ref) for x in ref], width=0.4, label="reference")
        ax.bar([i + 0.2 for i in range(len(latest))], [x / sum(latest) for x in latest], width=0.4, label=days[-1])
    ax.set_xticks(range(len(labels)), labels)
    ax.set(title="Score distribution: reference window vs latest day", xlabel="score bin", ylabel="share")
    _legend(ax)
    plots.append(("Score distribution (bins in the report's table)", save(fig, "score_distribution.png")))

    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar(short, [result.psi.get(d, 0.0) for d in days], color="tab:purple")
    ax.axhline(0.25, color="red", linestyle="--", label="alert (0.25)")
    ax.axhline(0.10, color="orange", linestyle=":", label="watch (0.10)")
    ax.set(title="Score PSI vs reference window", ylabel="PSI")
    _legend(ax)
    plots.append(("Population stability index of the score, per day", save(fig, "psi.png")))

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for area in sorted({r["area_id"] for r in result.failures_by_area}):
        by_day = {
            r["dt"]: r["failed_rate"] + r["no_quorum_rate"] for r in result.failures_by_area if r["area_id"] == area
        }
        left.plot(short, [by_day.get(d, float("nan")) for d in days], marker="o", label=area)
    left.set(title="Envelope failure rate by area", ylabel="(FAILED + NO_QUORUM) / orders")
    _legend(left, fontsize=7)
    partners: dict[str, int] = {}
    for r in result.failures_by_partner:
        partners[r["partner"]] = partners.get(r["partner"], 0) + r["failures"]
    right.bar(list(partners), list(partners.values()), color="tab:red")
    right.set(title="Failed orders by partner (all days)", ylabel="orders")
    plots.append(("Envelope failures by area and by partner", save(fig, "envelope_failures.png")))

    fig, ax = plt.subplots(figsize=(8, 3.5))
    for dataset in sorted({r["dataset"] for r in result.quality}):
        by_day = {r["dt"]: r["quarantine_rate"] for r in result.quality if r["dataset"] == dataset}
        ax.plot(short, [by_day.get(d, float("nan")) for d in days], marker="o", label=dataset)
    ax.set(title="Data quality: share of rows quarantined", ylabel="quarantined / read")
    _legend(ax)
    plots.append(("Data quality per day", save(fig, "data_quality.png")))

    alerts = [*run_alerts, *result.alerts]
    lines = [
        "# Data lake report",
        "",
        f"Days {days[0] if days else '-'} .. {days[-1] if days else '-'}; reference window"
        f" {result.reference[0] if result.reference else '-'} .. {result.reference[-1] if result.reference else '-'}.",
        "",
        "## Alerts",
        "",
        *([f"- {a}" for a in alerts] or ["- none"]),
        "",
        "## Approval rate by band per day",
        "",
        "| day | band | decisions | approved | approval rate |",
        "| --- | --- | ---: | ---: | ---: |",
        *(
            f"| {r['day']} | {r['band']} | {r['decisions']} | {r['approved']} | {float(r['approval_rate']):.1%} |"
            for r in result.approval_by_band
        ),
        "",
        "## Score PSI per day",
        "",
        "| day | PSI |",
        "| --- | ---: |",
        *(f"| {d} | {result.psi[d]:.3f} |" for d in days),
        "",
        *(f"## {title}\n\n![{title}]({name})\n" for title, name in plots),
    ]
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    metrics = {
        "days": days,
        "reference": result.reference,
        "psi": result.psi,
        "alerts": alerts,
        "approval_by_band": result.approval_by_band,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    return report
