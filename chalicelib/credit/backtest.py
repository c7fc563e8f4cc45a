"""Replays applications through a candidate policy and says what would change, before it goes live.

Pure: takes applications (from stored decisions or a file) and compiled policies, returns a
report. The command line lives in `chalicelib.commands.backtest`.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.credit.engine import CompiledPolicy
from chalicelib.credit.model import Application, CreditDecision, Outcome, ScoreSource
from chalicelib.credit.wire import decision_from_wire


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    application: Application
    recorded_outcome: Outcome | None = None
    recorded_reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Flip:
    label: str
    before: str
    after: str
    reasons_before: tuple[str, ...]
    reasons_after: tuple[str, ...]
    application: Application


@dataclass
class Report:
    baseline: str
    candidate: str
    outcomes_before: Counter[str] = field(default_factory=Counter)
    outcomes_after: Counter[str] = field(default_factory=Counter)
    reasons_before: Counter[str] = field(default_factory=Counter)
    reasons_after: Counter[str] = field(default_factory=Counter)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    flips: list[Flip] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.outcomes_before.values())

    def approval_rate(self, outcomes: Counter[str]) -> Decimal:
        if not self.total:
            return Decimal(0)
        return (Decimal(outcomes[Outcome.APPROVED.value]) * 100 / self.total).quantize(Decimal("0.1"))


def backtest(cases: Iterable[Case], candidate: CompiledPolicy, baseline: CompiledPolicy | None) -> Report:
    """Baseline is the recorded decision when there is one and no baseline policy is given."""
    ref = candidate.ref
    report = Report(
        baseline=f"{baseline.ref.policy_id} {baseline.ref.version}" if baseline else "recorded decisions",
        candidate=f"{ref.policy_id} {ref.version} ({ref.hash[:19]}...)",
    )
    for case in cases:
        if baseline is not None or case.recorded_outcome is None:
            base = (baseline or candidate).decide(case.application)
            before, reasons_before = base.outcome.value, tuple(r.code for r in base.reasons)
        else:
            before, reasons_before = case.recorded_outcome.value, case.recorded_reasons
        after_eval = candidate.decide(case.application)
        after, reasons_after = after_eval.outcome.value, tuple(r.code for r in after_eval.reasons)
        report.outcomes_before[before] += 1
        report.outcomes_after[after] += 1
        report.reasons_before.update(reasons_before)
        report.reasons_after.update(reasons_after)
        if before != after:
            report.transitions[(before, after)] += 1
            report.flips.append(Flip(case.label, before, after, reasons_before, reasons_after, case.application))
    return report


def cases_from_decisions(decisions: Iterable[CreditDecision]) -> list[Case]:
    return [
        Case(
            label=d.decision_id,
            application=d.application,
            recorded_outcome=d.evaluation.outcome,
            recorded_reasons=tuple(r.code for r in d.evaluation.reasons),
        )
        for d in decisions
    ]


def cases_from_file(text: str, filename: str, today: date) -> list[Case]:
    """JSONL of stored decisions or flat applications, or CSV with the flat columns."""
    if filename.endswith(".csv"):
        rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(text)))
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    cases = []
    for number, row in enumerate(rows, start=1):
        try:
            if "application" in row and "outcome" in row:
                cases.extend(cases_from_decisions([decision_from_wire(row)]))
            else:
                cases.append(Case(label=str(row.get("id") or f"row {number}"), application=_flat(row, today)))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ValueError(f"{filename} row {number}: {exc!r}") from None
    return cases


def _flat(row: dict[str, Any], today: date) -> Application:
    score = row.get("score")
    age = row.get("score_age_days")
    has_score = score not in (None, "")
    return Application(
        amount=Decimal(str(row["amount"])),
        term_months=int(row["term_months"]),
        product=str(row.get("product") or "PERSONAL_LOAN"),
        monthly_income=Decimal(str(row["monthly_income"])),
        existing_debts=Decimal(str(row.get("existing_debts") or "0")),
        score=int(str(score)) if has_score else None,
        score_as_of=today - timedelta(days=int(str(age or 0))) if has_score else None,
        score_source=ScoreSource.BUREAU if has_score else ScoreSource.NONE,
        today=today,
    )


def render(report: Report, show: int = 20) -> str:
    lines = [
        f"baseline:  {report.baseline}",
        f"candidate: {report.candidate}",
        f"applications: {report.total}",
        "",
        f"{'outcome':<10} {'before':>8} {'after':>8} {'change':>8}",
    ]
    for outcome in Outcome:
        b, a = report.outcomes_before[outcome.value], report.outcomes_after[outcome.value]
        lines.append(f"{outcome.value:<10} {b:>8} {a:>8} {a - b:>+8}")
    before_rate, after_rate = report.approval_rate(report.outcomes_before), report.approval_rate(report.outcomes_after)
    lines += ["", f"approval rate: {before_rate}% -> {after_rate}% ({after_rate - before_rate:+}) points", ""]
    lines.append(f"{'reason':<32} {'before':>8} {'after':>8} {'change':>8}")
    for code in sorted(set(report.reasons_before) | set(report.reasons_after)):
        b, a = report.reasons_before[code], report.reasons_after[code]
        lines.append(f"{code:<32} {b:>8} {a:>8} {a - b:>+8}")
    lines += ["", f"flipped: {len(report.flips)}"]
    for (before, after), count in sorted(report.transitions.items()):
        lines.append(f"  {before} -> {after}: {count}")
    for flip in report.flips[:show]:
        app = flip.application
        lines.append(
            f"  {flip.label}: {flip.before} -> {flip.after}; amount {app.amount}, term {app.term_months}, "
            f"income {app.monthly_income}, debts {app.existing_debts}, score {app.score}; "
            f"reasons {list(flip.reasons_before)} -> {list(flip.reasons_after)}"
        )
    if len(report.flips) > show:
        lines.append(f"  ... and {len(report.flips) - show} more (use --show)")
    return "\n".join(lines)


def as_json(report: Report) -> dict[str, Any]:
    return {
        "baseline": report.baseline,
        "candidate": report.candidate,
        "applications": report.total,
        "outcomes_before": dict(report.outcomes_before),
        "outcomes_after": dict(report.outcomes_after),
        "approval_rate_before": str(report.approval_rate(report.outcomes_before)),
        "approval_rate_after": str(report.approval_rate(report.outcomes_after)),
        "reasons_before": dict(report.reasons_before),
        "reasons_after": dict(report.reasons_after),
        "flips": [
            {"id": f.label, "before": f.before, "after": f.after, "reasons_before": f.reasons_before,
             "reasons_after": f.reasons_after}
            for f in report.flips
        ],
    }  # fmt: skip
