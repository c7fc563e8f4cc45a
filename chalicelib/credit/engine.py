"""Compiles a policy once into one generated Python function; evaluating an application parses nothing.

Every rule is evaluated (not first-hit), so the decision lists all reasons that apply: what a
customer letter and an auditor need. Outcome precedence: REFUSED > REVIEW > APPROVED.

Why generated code: the closures-over-a-dict engine (kept in bench/baseline_credit.py as the
oracle) spent most of its time on calls and dict lookups. The generated function reads each
figure into a local, tests the rules inline and looks the fired set up in a memo, so a decision
costs the Decimal arithmetic, the audit dict and the Evaluation. Same Decimal context (the
caller's), same operations in the same order: the results are identical, not merely close.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from chalicelib.credit.finance import CENT, RATIO, price_factor
from chalicelib.credit.model import (
    OUTCOME_SEVERITY,
    Application,
    Evaluation,
    Outcome,
    PolicyRef,
    Reason,
    ScoreSource,
)
from chalicelib.credit.policy import AllOf, AnyOf, Band, Compare, Condition, Not, Policy

Facts = dict[str, Any]
Decide = Callable[[Application], Evaluation]

NO_SCORE = Reason("NO_SCORE", "The bureau has no score for this person; an analyst must review.", Outcome.REVIEW)
BUREAU_UNAVAILABLE = Reason(
    "BUREAU_UNAVAILABLE", "The credit bureau is unavailable and no recent score is on file.", Outcome.REVIEW
)

_SYMBOL = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "==", "ne": "!=", "in": "in", "not_in": "not in"}
INTEGER_FIELDS = frozenset({"score", "score_age_days", "term_months"})
"""Figures that are ints: an integral constant compares to them as an int, exactly as the Decimal would."""
SCORE_TABLE_MAX = 10_000
"""Score ranges up to this size get a band per score (one index); wider ones bisect."""
_CACHE_MAX = 64
_compiled: dict[str, Decide] = {}
_SOURCE_TEXT = {source: source.value for source in ScoreSource}
_Record = tuple[str, Decimal, Decimal, dict[int, Decimal]]
"""A band as the generated code reads it: name, monthly rate, income multiple, Price factor per term."""


class CompiledPolicy:
    """A policy ready to decide; the generated function is shared by every policy with the same content hash."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.ref = PolicyRef(policy.policy_id, policy.version, policy.hash)
        self._bands_ascending = tuple(reversed(policy.bands))
        self._band_floors = [b.min_score for b in self._bands_ascending]
        decide = _compiled.get(policy.hash)
        if decide is None:
            if len(_compiled) >= _CACHE_MAX:
                _compiled.clear()
            decide = _compiled[policy.hash] = _generate(policy, self.ref)
        self.decide: Decide = decide
        """Application -> Evaluation: outcome, every reason that applied, the figures used, the policy ref."""

    def band_for(self, score: int) -> Band:
        clamped = min(max(score, self.policy.score_min), self.policy.score_max)
        return self._bands_ascending[bisect_right(self._band_floors, clamped) - 1]


def without_score(application: Application, ref: PolicyRef) -> Evaluation:
    """No score, no band: nothing to compute, an analyst reviews."""
    missing = NO_SCORE if application.score_source is ScoreSource.NONE else BUREAU_UNAVAILABLE
    as_of = application.score_as_of
    figures: Facts = {
        "score": application.score,
        "score_source": application.score_source.value,
        "score_age_days": (application.today - as_of).days if as_of else None,
        "monthly_income": application.monthly_income,
        "existing_debts": application.existing_debts,
        "amount": application.amount,
        "term_months": application.term_months,
        "product": application.product,
    }
    return Evaluation(Outcome.REVIEW, None, None, None, (missing,), figures, ref)


class _Emitter:
    """Turns conditions into Python expressions over locals; every constant is bound by name, never spliced."""

    def __init__(self) -> None:
        self.constants: dict[str, object] = {}

    def constant(self, value: object) -> str:
        name = f"_K{len(self.constants)}"
        self.constants[name] = value
        return name

    def expression(self, condition: Condition) -> str:
        match condition:
            case Compare(field=field, op=op, other_field=str(other)):
                return f"({field} {_SYMBOL[op]} {other})"
            case Compare(field=field, op=op, value=value):
                bound: object = value
                if field in INTEGER_FIELDS and isinstance(value, Decimal) and value == value.to_integral_value():
                    bound = int(value)
                return f"({field} {_SYMBOL[op]} {self.constant(bound)})"
            case AllOf(items=items):
                return "(" + " and ".join(self.expression(c) for c in items) + ")"
            case AnyOf(items=items):
                return "(" + " or ".join(self.expression(c) for c in items) + ")"
            case Not(item=item):
                return f"(not {self.expression(item)})"
        raise TypeError(f"unknown condition {condition!r}")  # pragma: no cover - the parser admits no other


def _generate(policy: Policy, ref: PolicyRef) -> Decide:
    """One function per policy. Only whitelisted field names and op symbols reach the source."""
    emitter = _Emitter()
    ascending = tuple(reversed(policy.bands))
    records: tuple[_Record, ...] = tuple((b.band, b.monthly_rate, b.income_multiple, {}) for b in ascending)
    reasons = tuple(Reason(r.code, r.message, r.outcome, r.rule_id) for r in policy.rules)
    fired_sets: dict[int, tuple[tuple[Reason, ...], Outcome]] = {}

    def fired(mask: int) -> tuple[tuple[Reason, ...], Outcome]:
        """The reasons a rule mask stands for and their outcome, memoised: the same few sets recur."""
        hit = tuple(r for i, r in enumerate(reasons) if mask >> i & 1)
        outcome = max((r.outcome for r in hit), key=OUTCOME_SEVERITY.__getitem__, default=Outcome.APPROVED)
        fired_sets[mask] = (hit, outcome)
        return hit, outcome

    def factor(record: _Record, term_months: int) -> Decimal:
        value = record[3][term_months] = price_factor(record[1], term_months)
        return value

    lo, hi = policy.score_min, policy.score_max
    if hi - lo <= SCORE_TABLE_MAX:
        floors = [b.min_score for b in ascending]
        by_score = tuple(records[bisect_right(floors, s) - 1] for s in range(lo, hi + 1))
        band_line = f"_record = _BY_SCORE[({lo} if score < {lo} else {hi} if score > {hi} else score) - {lo}]"
    else:
        by_score = ()
        band_line = f"_record = _RECORDS[_bisect(_FLOORS, min(max(score, {lo}), {hi})) - 1]"
    rule_lines = [f"    if {emitter.expression(r.when)}: _m |= {1 << i}" for i, r in enumerate(policy.rules)]
    source = "\n".join(
        [
            "def decide(a):",
            "    score = a.score",
            "    if score is None:",
            "        return _without_score(a, _REF)",
            "    as_of = a.score_as_of",
            "    monthly_income = a.monthly_income",
            "    existing_debts = a.existing_debts",
            "    amount = a.amount",
            "    term_months = a.term_months",
            "    product = a.product",
            "    score_age_days = (a.today - as_of).days if as_of else None",
            f"    {band_line}",
            "    band, monthly_rate, _multiple, _factors = _record",
            "    _f = _factors.get(term_months)",
            "    if _f is None:",
            "        _f = _factor(_record, term_months)",
            "    installment = (amount * _f).quantize(_CENT, _HALF_EVEN)",
            "    _after = existing_debts + installment",
            "    if monthly_income <= 0:",
            "        dti_before = _INF if existing_debts > 0 else _ZERO",
            "        dti_after = _INF if _after > 0 else _ZERO",
            "        installment_to_income = _INF if installment > 0 else _ZERO",
            "    else:",
            "        dti_before = (existing_debts / monthly_income).quantize(_RATIO, _HALF_EVEN)",
            "        dti_after = (_after / monthly_income).quantize(_RATIO, _HALF_EVEN)",
            "        installment_to_income = (installment / monthly_income).quantize(_RATIO, _HALF_EVEN)",
            "    approval_limit = min(monthly_income * _multiple, _CAP).quantize(_CENT)",
            "    _m = 0",
            *rule_lines,
            "    _hit = _FIRED.get(_m)",
            "    if _hit is None:",
            "        _hit = _fired(_m)",
            "    _reasons, _outcome = _hit",
            "    return _Evaluation(",
            "        _outcome,",
            "        amount if _outcome is _APPROVED else None,",
            "        band,",
            "        score,",
            "        _reasons,",
            "        {",
            '            "score": score,',
            '            "score_source": _SOURCE_TEXT[a.score_source],',
            '            "score_age_days": score_age_days,',
            '            "monthly_income": monthly_income,',
            '            "existing_debts": existing_debts,',
            '            "amount": amount,',
            '            "term_months": term_months,',
            '            "product": product,',
            '            "band": band,',
            '            "monthly_rate": monthly_rate,',
            '            "installment": installment,',
            '            "dti_before": dti_before,',
            '            "dti_after": dti_after,',
            '            "installment_to_income": installment_to_income,',
            '            "approval_limit": approval_limit,',
            "        },",
            "        _REF,",
            "    )",
        ]
    )
    namespace: dict[str, Any] = {
        **emitter.constants,
        "_without_score": without_score,
        "_REF": ref,
        "_BY_SCORE": by_score,
        "_RECORDS": records,
        "_FLOORS": [b.min_score for b in ascending],
        "_bisect": bisect_right,
        "_factor": factor,
        "_CENT": CENT,
        "_RATIO": RATIO,
        "_HALF_EVEN": ROUND_HALF_EVEN,
        "_INF": Decimal("Infinity"),
        "_ZERO": Decimal(0),
        "_CAP": policy.approval_limit_cap,
        "_FIRED": fired_sets,
        "_fired": fired,
        "_APPROVED": Outcome.APPROVED,
        "_Evaluation": Evaluation,
        "_SOURCE_TEXT": _SOURCE_TEXT,
    }
    exec(compile(source, f"<credit policy {policy.hash[:19]}>", "exec"), namespace)  # noqa: S102 - see docstring
    decide: Decide = namespace["decide"]
    return decide
