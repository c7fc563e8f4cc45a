"""Credit use cases, each a method of `CreditService`, which bootstrap binds once to the area's ports."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from chalicelib.clock import Clock, utc_now
from chalicelib.credit.cursors import DecisionCursors
from chalicelib.credit.errors import CreditRejected, CustomerNotFound, DecisionNotFound
from chalicelib.credit.model import (
    Application,
    BureauScore,
    CreditDecision,
    CustomerProfile,
    DecisionPage,
    ScoreSource,
    new_decision_id,
)
from chalicelib.credit.policy import Policy
from chalicelib.credit.policy_provider import PolicyProvider
from chalicelib.credit.ports import CreditBureau, CreditStore
from chalicelib.documents import Cpf
from chalicelib.errors import PartnerUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PutProfile:
    cpf: Cpf
    monthly_income: Decimal
    existing_debts: Decimal


@dataclass(frozen=True, slots=True)
class DecideCredit:
    cpf: Cpf
    amount: Decimal
    term_months: int
    product: str
    monthly_income: Decimal | None = None
    existing_debts: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ListDecisions:
    cpf: Cpf
    limit: int = 20
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class CreditService:
    """The credit use cases over their ports: bootstrap binds it once, entry points call a method."""

    store: CreditStore
    bureau: CreditBureau
    policies: PolicyProvider
    clock: Clock = utc_now
    new_decision_id: Callable[[], str] = new_decision_id
    cursors: DecisionCursors = field(kw_only=True)
    """Signs the listing's cursors with the application's cursor key (bootstrap passes it)."""

    def put_profile(self, command: PutProfile) -> CustomerProfile:
        profile = CustomerProfile(command.cpf.digits, command.monthly_income, command.existing_debts, self.clock())
        self.store.put_profile(profile)
        return profile

    def get_profile(self, cpf: Cpf) -> CustomerProfile:
        profile = self.store.get_profile(cpf.digits)
        if profile is None:
            raise CustomerNotFound("no profile for this customer")
        return profile

    def decide(self, command: DecideCredit) -> CreditDecision:
        """Scores the applicant (bureau, or a fresh enough stored score) and applies the active policy."""
        compiled = self.policies.active()
        if command.product not in compiled.policy.products:
            known = ", ".join(sorted(compiled.policy.products))
            raise CreditRejected(f"product not covered by the active policy ({known})", "product", "UNKNOWN_PRODUCT")
        income, debts = self._income_and_debts(command)
        now = self.clock()
        score, source = current_score(
            command.cpf.digits, self.bureau, self.store, compiled.policy.stored_score_max_age_days, now.date()
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
        decision = CreditDecision(
            self.new_decision_id(), command.cpf.digits, application, compiled.decide(application), now
        )
        self.store.add_decision(decision)
        log.info(
            "credit decided", extra={"decision_id": decision.decision_id, "outcome": decision.evaluation.outcome.value}
        )
        return decision

    def get_decision(self, decision_id: str) -> CreditDecision:
        decision = self.store.get_decision(decision_id)
        if decision is None:
            raise DecisionNotFound(f"decision '{decision_id[:40]}' not found")
        return decision

    def list_decisions(self, query: ListDecisions) -> DecisionPage:
        """A page of the customer's decisions; a cursor only continues the listing it was issued for."""
        cpf = query.cpf.digits
        found = self.store.customer_decisions(cpf, query.limit, self.cursors.resume(cpf, query.cursor))
        return DecisionPage(found.items, self.cursors.issue(cpf, found.resume_after))

    def active_policy(self) -> Policy:
        return self.policies.active().policy

    def _income_and_debts(self, command: DecideCredit) -> tuple[Decimal, Decimal]:
        """What the request says, completed from the stored profile."""
        income, debts = command.monthly_income, command.existing_debts
        if income is not None and debts is not None:
            return income, debts
        profile = self.store.get_profile(command.cpf.digits)
        if profile is None:
            raise CreditRejected(
                "no stored profile: send monthly_income and existing_debts, or PUT /v1/customers/{cpf}",
                "monthly_income",
                "CUSTOMER_PROFILE_REQUIRED",
            )
        return (
            profile.monthly_income if income is None else income,
            profile.existing_debts if debts is None else debts,
        )


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
