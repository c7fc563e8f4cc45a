"""JSON shapes of credit data: the API's answers and the stored decision, read back exactly.

The only place a decision becomes JSON or is read back from it. Money and ratios are decimal
strings (a non-finite ratio, such as debts over no income, is null); times are ISO-8601 UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from chalicelib.credit.model import (
    Application,
    CreditDecision,
    CustomerProfile,
    DecisionPage,
    Evaluation,
    Outcome,
    PolicyRef,
    Reason,
    ScoreSource,
)
from chalicelib.credit.policy import NUMERIC_FIELDS, Policy

Figure = Decimal | int | str | None


def _figure_to_wire(value: Figure) -> Figure:
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    return value


def _figure_from_wire(name: str, value: Figure) -> Figure:
    """Decimals travel as strings; a numeric figure's string is a Decimal again."""
    return Decimal(value) if name in NUMERIC_FIELDS and isinstance(value, str) else value


def application_to_wire(application: Application) -> dict[str, Any]:
    return {
        "amount": str(application.amount),
        "term_months": application.term_months,
        "product": application.product,
        "monthly_income": str(application.monthly_income),
        "existing_debts": str(application.existing_debts),
        "score": application.score,
        "score_as_of": application.score_as_of.isoformat() if application.score_as_of else None,
        "score_source": application.score_source.value,
        "decided_on": application.today.isoformat(),
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


def decision_to_wire(decision: CreditDecision) -> dict[str, Any]:
    """The API answer, which is also the stored audit record: inputs, figures, rules fired, policy."""
    evaluation = decision.evaluation
    return {
        "decision_id": decision.decision_id,
        "cpf": decision.cpf,
        "outcome": evaluation.outcome.value,
        "approved_amount": _figure_to_wire(evaluation.approved_amount),
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
        "figures": {name: _figure_to_wire(value) for name, value in evaluation.figures.items()},
        "application": application_to_wire(decision.application),
        "created_at": decision.created_at.isoformat(),
    }


def decision_from_wire(raw: dict[str, Any]) -> CreditDecision:
    """A stored decision (or one a file of them holds) as the domain sees it; `decision_to_wire` inverts it."""
    policy = raw["policy"]
    approved = raw["approved_amount"]
    evaluation = Evaluation(
        outcome=Outcome(raw["outcome"]),
        approved_amount=Decimal(approved) if approved is not None else None,
        risk_band=raw["risk_band"],
        score=raw["score"],
        reasons=tuple(Reason(r["code"], r["message"], Outcome(r["outcome"]), r.get("rule_id")) for r in raw["reasons"]),
        figures={name: _figure_from_wire(name, value) for name, value in raw["figures"].items()},
        policy=PolicyRef(policy["id"], policy["version"], policy["hash"]),
    )
    return CreditDecision(
        decision_id=raw["decision_id"],
        cpf=raw["cpf"],
        application=application_from_wire(raw["application"]),
        evaluation=evaluation,
        created_at=datetime.fromisoformat(raw["created_at"]),
    )


def page_to_wire(page: DecisionPage) -> dict[str, Any]:
    return {"items": [decision_to_wire(d) for d in page.items], "next_cursor": page.next_cursor}


def profile_to_wire(profile: CustomerProfile) -> dict[str, str]:
    return {
        "cpf": profile.cpf,
        "monthly_income": str(profile.monthly_income),
        "existing_debts": str(profile.existing_debts),
        "updated_at": profile.updated_at.isoformat(),
    }


def policy_to_wire(policy: Policy) -> dict[str, Any]:
    return {"id": policy.policy_id, "version": policy.version, "hash": policy.hash, "document": policy.document}
