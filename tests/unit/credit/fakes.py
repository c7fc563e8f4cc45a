from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from chalicelib.credit.model import BureauScore, CreditDecision, CustomerProfile, DecisionPosition, DecisionSlice
from chalicelib.credit.ports import CreditBureau, CreditStore
from chalicelib.errors import PartnerUnavailable


class FakeBureau(CreditBureau):
    def __init__(self, scores: dict[str, BureauScore] | None = None, down: bool = False) -> None:
        self.scores = scores or {}
        self.down = down

    def score(self, cpf: str) -> BureauScore | None:
        if self.down:
            raise PartnerUnavailable("bureau", "HTTP 503")
        return self.scores.get(cpf)


class FakeCreditStore(CreditStore):
    def __init__(self) -> None:
        self.profiles: dict[str, CustomerProfile] = {}
        self.scores: dict[str, BureauScore] = {}
        self.decisions: list[CreditDecision] = []
        self.policy_text: str | None = None
        self.policy_reads = 0
        self.policy_down = False

    def put_profile(self, profile: CustomerProfile) -> None:
        self.profiles[profile.cpf] = profile

    def get_profile(self, cpf: str) -> CustomerProfile | None:
        return self.profiles.get(cpf)

    def save_score(self, cpf: str, score: BureauScore) -> None:
        self.scores[cpf] = score

    def last_score(self, cpf: str) -> BureauScore | None:
        return self.scores.get(cpf)

    def add_decision(self, decision: CreditDecision) -> None:
        self.decisions.append(decision)

    def get_decision(self, decision_id: str) -> CreditDecision | None:
        return next((d for d in self.decisions if d.decision_id == decision_id), None)

    def customer_decisions(self, cpf: str, limit: int, after: DecisionPosition | None) -> DecisionSlice:
        """Like the by-customer index: newest first, resuming strictly after the (created_at, id) given."""
        mine = sorted((d for d in self.decisions if d.cpf == cpf), key=_position, reverse=True)
        if after is not None:
            mine = [d for d in mine if _position(d) < (after.created_at, after.decision_id)]
        page = tuple(mine[:limit])
        more = len(mine) > limit
        return DecisionSlice(page, DecisionPosition(page[-1].created_at, page[-1].decision_id) if more else None)

    def all_decisions(self) -> Iterator[CreditDecision]:
        return iter(reversed(self.decisions))

    def active_policy_text(self) -> str | None:
        self.policy_reads += 1
        if self.policy_down:
            raise ConnectionError("table unreachable")
        return self.policy_text

    def publish_policy(self, text: str, policy_id: str, version: str, content_hash: str) -> None:
        self.policy_text = text


def _position(decision: CreditDecision) -> tuple[datetime, str]:
    return decision.created_at, decision.decision_id
