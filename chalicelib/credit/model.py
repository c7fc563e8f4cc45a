"""What a credit decision reads and what it answers; plain data, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Outcome(StrEnum):
    APPROVED = "APPROVED"
    REVIEW = "REVIEW"
    REFUSED = "REFUSED"


OUTCOME_SEVERITY = {Outcome.APPROVED: 0, Outcome.REVIEW: 1, Outcome.REFUSED: 2}


class ScoreSource(StrEnum):
    BUREAU = "BUREAU"
    STORED = "STORED"
    """The bureau was unavailable and the last stored score was fresh enough."""
    NONE = "NONE"
    """The bureau has no score for this person."""
    UNAVAILABLE = "UNAVAILABLE"
    """The bureau was unavailable and no fresh stored score existed."""


@dataclass(frozen=True, slots=True)
class Application:
    amount: Decimal
    term_months: int
    product: str
    monthly_income: Decimal
    existing_debts: Decimal
    """Monthly payments already committed to other debts."""
    score: int | None
    score_as_of: date | None
    score_source: ScoreSource
    today: date


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str
    outcome: Outcome
    rule_id: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyRef:
    policy_id: str
    version: str
    hash: str


@dataclass(frozen=True, slots=True)
class Evaluation:
    outcome: Outcome
    approved_amount: Decimal | None
    risk_band: str | None
    score: int | None
    reasons: tuple[Reason, ...]
    figures: dict[str, Decimal | int | str | None]
    policy: PolicyRef


@dataclass(frozen=True, slots=True)
class CreditDecision:
    """What was decided for whom, from which inputs, and when: the answer and the audit record."""

    decision_id: str
    cpf: str
    application: Application
    evaluation: Evaluation
    created_at: datetime


def new_decision_id() -> str:
    return f"dec_{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class DecisionPosition:
    """Where a listing of one customer's decisions stopped: the last decision it returned."""

    created_at: datetime
    decision_id: str


@dataclass(frozen=True, slots=True)
class DecisionSlice:
    """A customer's decisions as the store reads them, newest first; `resume_after` is None at the end."""

    items: tuple[CreditDecision, ...]
    resume_after: DecisionPosition | None


@dataclass(frozen=True, slots=True)
class DecisionPage:
    """A customer's decisions, newest first; `next_cursor` is opaque and None on the last page."""

    items: tuple[CreditDecision, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    cpf: str
    monthly_income: Decimal
    existing_debts: Decimal
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BureauScore:
    score: int
    as_of: date
