"""Today's credit engine (closures over a facts dict), kept as the oracle and the baseline.

A verbatim copy of chalicelib/credit/engine.py before the generated evaluator: the property tests
check the new engine returns exactly what this one does, and `make bench-credit` can time both.

Every rule is evaluated (not first-hit), so the decision lists all reasons that apply: what a
customer letter and an auditor need. Outcome precedence: REFUSED > REVIEW > APPROVED.
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from chalicelib.credit.finance import installment, price_factor, ratio
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
Predicate = Callable[[Facts], bool]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "eq": operator.eq,
    "ne": operator.ne,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
}

NO_SCORE = Reason("NO_SCORE", "The bureau has no score for this person; an analyst must review.", Outcome.REVIEW)
BUREAU_UNAVAILABLE = Reason(
    "BUREAU_UNAVAILABLE", "The credit bureau is unavailable and no recent score is on file.", Outcome.REVIEW
)


def compile_condition(condition: Condition) -> Predicate:
    match condition:
        case Compare(field=field, op=op, other_field=str(other)):
            compare = _OPS[op]
            return lambda facts: bool(compare(facts[field], facts[other]))
        case Compare(field=field, op=op, value=value):
            compare = _OPS[op]
            return lambda facts: bool(compare(facts[field], value))
        case AllOf(items=items):
            parts = tuple(compile_condition(c) for c in items)
            return lambda facts: all(p(facts) for p in parts)
        case AnyOf(items=items):
            parts = tuple(compile_condition(c) for c in items)
            return lambda facts: any(p(facts) for p in parts)
        case Not(item=item):
            inner = compile_condition(item)
            return lambda facts: not inner(facts)
    raise TypeError(f"unknown condition {condition!r}")  # pragma: no cover - the parser admits no other


class CompiledPolicy:
    """A policy ready to decide: rules are closures, Price factors are memoised per band and term."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.ref = PolicyRef(policy.policy_id, policy.version, policy.hash)
        self._bands_ascending = tuple(reversed(policy.bands))
        self._band_floors = [b.min_score for b in self._bands_ascending]
        self._rules = tuple(
            (compile_condition(r.when), Reason(r.code, r.message, r.outcome, r.rule_id)) for r in policy.rules
        )
        self._factors: dict[tuple[str, int], Decimal] = {}

    def band_for(self, score: int) -> Band:
        clamped = min(max(score, self.policy.score_min), self.policy.score_max)
        return self._bands_ascending[bisect_right(self._band_floors, clamped) - 1]

    def _factor(self, band: Band, term_months: int) -> Decimal:
        key = (band.band, term_months)
        factor = self._factors.get(key)
        if factor is None:
            factor = self._factors[key] = price_factor(band.monthly_rate, term_months)
        return factor

    def decide(self, application: Application) -> Evaluation:
        if application.score is None:
            missing = NO_SCORE if application.score_source is ScoreSource.NONE else BUREAU_UNAVAILABLE
            return Evaluation(Outcome.REVIEW, None, None, None, (missing,), self._base_figures(application), self.ref)
        facts = self.facts(application)
        fired = tuple(reason for predicate, reason in self._rules if predicate(facts))
        outcome = max((r.outcome for r in fired), key=OUTCOME_SEVERITY.__getitem__, default=Outcome.APPROVED)
        approved = application.amount if outcome is Outcome.APPROVED else None
        return Evaluation(outcome, approved, facts["band"], application.score, fired, facts, self.ref)

    def facts(self, application: Application) -> Facts:
        """Every figure the rules may read, computed once; also the decision's audit trail."""
        assert application.score is not None
        band = self.band_for(application.score)
        payment = installment(application.amount, self._factor(band, application.term_months))
        income, debts = application.monthly_income, application.existing_debts
        facts = self._base_figures(application)
        facts.update(
            band=band.band,
            monthly_rate=band.monthly_rate,
            installment=payment,
            dti_before=ratio(debts, income),
            dti_after=ratio(debts + payment, income),
            installment_to_income=ratio(payment, income),
            approval_limit=min(income * band.income_multiple, self.policy.approval_limit_cap).quantize(Decimal("0.01")),
        )
        return facts

    @staticmethod
    def _base_figures(application: Application) -> Facts:
        as_of = application.score_as_of
        return {
            "score": application.score,
            "score_source": application.score_source.value,
            "score_age_days": (application.today - as_of).days if as_of else None,
            "monthly_income": application.monthly_income,
            "existing_debts": application.existing_debts,
            "amount": application.amount,
            "term_months": application.term_months,
            "product": application.product,
        }
