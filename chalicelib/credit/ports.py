"""What credit decisions need from the outside world."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from chalicelib.credit.model import BureauScore, CreditDecision, CustomerProfile, DecisionPosition, DecisionSlice


class CreditBureau(ABC):
    @abstractmethod
    def score(self, cpf: str) -> BureauScore | None:
        """None when the bureau has no score; raises PartnerUnavailable on 5xx or timeout."""


class CreditStore(ABC):
    """Customers, their last bureau score, decisions and the active policy (one DynamoDB table)."""

    @abstractmethod
    def put_profile(self, profile: CustomerProfile) -> None: ...

    @abstractmethod
    def get_profile(self, cpf: str) -> CustomerProfile | None: ...

    @abstractmethod
    def save_score(self, cpf: str, score: BureauScore) -> None: ...

    @abstractmethod
    def last_score(self, cpf: str) -> BureauScore | None: ...

    @abstractmethod
    def add_decision(self, decision: CreditDecision) -> None: ...

    @abstractmethod
    def get_decision(self, decision_id: str) -> CreditDecision | None: ...

    @abstractmethod
    def customer_decisions(self, cpf: str, limit: int, after: DecisionPosition | None) -> DecisionSlice:
        """Up to `limit` decisions, newest first, after `after` (from the start when None)."""

    @abstractmethod
    def all_decisions(self) -> Iterator[CreditDecision]:
        """Every stored decision, newest first (for backtests)."""

    @abstractmethod
    def active_policy_text(self) -> str | None:
        """The published policy document, or None when none was published (the bundled default applies)."""

    @abstractmethod
    def publish_policy(self, text: str, policy_id: str, version: str, content_hash: str) -> None: ...
