"""Credit use cases: customer profiles, decisions with bureau fallback, and decision history."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from chalicelib.credit.model import Application, BureauScore, CustomerProfile, Evaluation, ScoreSource
from chalicelib.credit.policies import PolicyProvider
from chalicelib.credit.ports import CreditBureau, CreditStore
from chalicelib.documents import Cpf
from chalicelib.errors import NotFound, PartnerUnavailable, Rejected

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


class CustomerNotFound(NotFound):
    code = "CUSTOMER_NOT_FOUND"


class DecisionNotFound(NotFound):
    code = "DECISION_NOT_FOUND"


class CreditRejected(Rejected):
    """The request cannot be decided at all (unknown product, no income on file)."""


@dataclass(frozen=True, slots=True)
class DecideCredit:
    cpf: Cpf
    amount: Decimal
    term_months: int
    product: str
    monthly_income: Decimal | None = None
    existing_debts: Decimal | None = None


def put_profile(
    cpf: Cpf, monthly_income: Decimal, existing_debts: Decimal, store: CreditStore, clock: Clock
) -> CustomerProfile:
    profile = CustomerProfile(cpf.digits, monthly_income, existing_debts, clock())
    store.put_profile(profile)
    return profile


def get_profile(cpf: Cpf, store: CreditStore) -> CustomerProfile:
    profile = store.get_profile(cpf.digits)
    if profile is None:
        raise CustomerNotFound("no profile for this customer")
    return profile


def current_score(
    cpf: str, bureau: CreditBureau, store: CreditStore, max_stored_age_days: int, today: date
) -> tuple[BureauScore | None, ScoreSource]:
    """The bureau's answer, or a stored score young enough for the policy, or nothing."""
    try:
        fresh = bureau.score(cpf)
    except PartnerUnavailable:
        stored = store.last_score(cpf)
        if stored is not None and (today - stored.as_of).days <= max_stored_age_days:
            return stored, ScoreSource.STORED
        return None, ScoreSource.UNAVAILABLE
    if fresh is None:
        return None, ScoreSource.NONE
    store.save_score(cpf, fresh)
    return fresh, ScoreSource.BUREAU


def decide_credit(
    command: DecideCredit,
    policies: PolicyProvider,
    bureau: CreditBureau,
    store: CreditStore,
    clock: Clock,
    new_decision_id: Callable[[], str],
) -> dict[str, Any]:
    compiled = policies.active()
    if command.product not in compiled.policy.products:
        known = ", ".join(sorted(compiled.policy.products))
        raise CreditRejected(f"product not covered by the active policy ({known})", "product", "UNKNOWN_PRODUCT")
    income, debts = command.monthly_income, command.existing_debts
    if income is None or debts is None:
        profile = store.get_profile(command.cpf.digits)
        if profile is None:
            raise CreditRejected(
                "no stored profile: send monthly_income and existing_debts, or PUT /v1/customers/{cpf}",
                "monthly_income",
                "CUSTOMER_PROFILE_REQUIRED",
            )
        income = profile.monthly_income if income is None else income
        debts = profile.existing_debts if debts is None else debts
    now = clock()
    score, source = current_score(
        command.cpf.digits, bureau, store, compiled.policy.stored_score_max_age_days, now.date()
    )
    application = Application(
        amount=command.amount,
        term_months=command.term_months,
        product=command.product,
        monthly_income=income,
        existing_debts=debts,
        score=score.score if score else None,
        score_as_of=score.as_of if score else None,
        score_source=source,
        today=now.date(),
    )
    decision = decision_to_wire(new_decision_id(), command.cpf.digits, application, compiled.decide(application), now)
    store.add_decision(decision)
    log.info("credit decided", extra={"decision_id": decision["decision_id"], "outcome": decision["outcome"]})
    return decision


def get_decision(decision_id: str, store: CreditStore) -> dict[str, Any]:
    decision = store.get_decision(decision_id)
    if decision is None:
        raise DecisionNotFound(f"decision '{decision_id[:40]}' not found")
    return decision


def _wire(value: object) -> object:
    if isinstance(value, Decimal):
        return None if not value.is_finite() else str(value)
    return value


def decision_to_wire(
    decision_id: str, cpf: str, application: Application, evaluation: Evaluation, at: datetime
) -> dict[str, Any]:
    """The API answer, which is also the stored audit record: inputs, figures, rules fired, policy."""
    return {
        "decision_id": decision_id,
        "cpf": cpf,
        "outcome": evaluation.outcome.value,
        "approved_amount": _wire(evaluation.approved_amount),
        "risk_band": evaluation.risk_band,
        "score": evaluation.score,
        "reasons": [
            {"code": r.code, "message": r.message, "outcome": r.outcome.value, "rule_id": r.rule_id}
            for r in evaluation.reasons
        ],
        "policy": {
            "id": evaluation.policy.policy_id,
            "version": evaluation.policy.version,
            "hash": evaluation.policy.hash,
        },
        "figures": {k: _wire(v) for k, v in evaluation.figures.items()},
        "application": {
            "amount": str(application.amount),
            "term_months": application.term_months,
            "product": application.product,
            "monthly_income": str(application.monthly_income),
            "existing_debts": str(application.existing_debts),
            "score": application.score,
            "score_as_of": application.score_as_of.isoformat() if application.score_as_of else None,
            "score_source": application.score_source.value,
            "decided_on": application.today.isoformat(),
        },
        "created_at": at.isoformat(),
    }


def application_from_wire(raw: dict[str, Any]) -> Application:
    """Reads back a stored decision's inputs, so a backtest replays exactly what was decided."""
    return Application(
        amount=Decimal(raw["amount"]),
        term_months=int(raw["term_months"]),
        product=raw["product"],
        monthly_income=Decimal(raw["monthly_income"]),
        existing_debts=Decimal(raw["existing_debts"]),
        score=raw["score"],
        score_as_of=date.fromisoformat(raw["score_as_of"]) if raw["score_as_of"] else None,
        score_source=ScoreSource(raw["score_source"]),
        today=date.fromisoformat(raw["decided_on"]),
    )
