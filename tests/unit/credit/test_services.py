from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.credit import services
from chalicelib.credit.cursors import DecisionCursors
from chalicelib.credit.errors import CreditRejected, CustomerNotFound, DecisionNotFound, PolicyUnavailable
from chalicelib.credit.model import BureauScore, ScoreSource
from chalicelib.credit.policy import default_policy
from chalicelib.credit.policy_provider import PolicyProvider
from chalicelib.credit.ports import CreditStore
from chalicelib.credit.wire import application_from_wire, decision_from_wire, decision_to_wire
from chalicelib.documents import Cpf
from tests.unit.builders import cpf
from tests.unit.credit.fakes import FakeBureau, FakeCreditStore

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CPF = Cpf(cpf(1))
KEY = b"k" * 32


def clock() -> datetime:
    return NOW


class World:
    def __init__(self, score: int | None = 720, bureau_down: bool = False, store: CreditStore | None = None) -> None:
        scores = {CPF.digits: BureauScore(score, NOW.date() - timedelta(days=3))} if score is not None else {}
        self.bureau = FakeBureau(scores, down=bureau_down)
        self.store: Any = store or FakeCreditStore()
        self.policies = PolicyProvider(self.store)
        ids = iter(f"dec_{n:032x}" for n in range(1, 100))
        self.service = services.CreditService(
            self.store, self.bureau, self.policies, clock, lambda: next(ids), cursors=DecisionCursors.with_key(KEY)
        )

    def decide(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "cpf": CPF,
            "amount": Decimal("20000.00"),
            "term_months": 24,
            "product": "PERSONAL_LOAN",
            "monthly_income": Decimal("8000.00"),
            "existing_debts": Decimal("1200.00"),
        }
        values.update(overrides)
        return decision_to_wire(self.service.decide(services.DecideCredit(**values)))


def test_a_decision_records_inputs_figures_policy_and_is_stored() -> None:
    world = World()
    decision = world.decide()
    assert decision["outcome"] == "APPROVED" and decision["approved_amount"] == "20000.00"
    assert decision["policy"] == {"id": "retail-personal-credit", "version": "2026.11.0", "hash": default_policy().hash}
    assert decision["figures"]["installment"] == "1092.48"
    assert decision["application"]["score_source"] == "BUREAU"
    assert [decision_to_wire(d) for d in world.store.decisions] == [decision]
    assert world.store.scores[CPF.digits].score == 720  # kept for the next outage
    json.dumps(decision)  # the stored record is plain JSON


def test_stored_profile_fills_what_the_request_leaves_out() -> None:
    world = World()
    world.service.put_profile(services.PutProfile(CPF, Decimal("3000.00"), Decimal("0.00")))
    decision = world.decide(monthly_income=None, existing_debts=None)
    assert decision["application"]["monthly_income"] == "3000.00"
    override = world.decide(monthly_income=Decimal("9000.00"), existing_debts=None)
    assert override["application"]["monthly_income"] == "9000.00"
    assert override["application"]["existing_debts"] == "0.00"


def test_without_income_anywhere_the_request_is_rejected() -> None:
    with pytest.raises(CreditRejected) as error:
        World().decide(monthly_income=None, existing_debts=None)
    assert (error.value.code, error.value.field) == ("CUSTOMER_PROFILE_REQUIRED", "monthly_income")


def test_unknown_product_is_rejected() -> None:
    with pytest.raises(CreditRejected) as error:
        World().decide(product="SPACESHIP_LEASE")
    assert error.value.code == "UNKNOWN_PRODUCT"


def test_bureau_outage_falls_back_to_a_fresh_stored_score() -> None:
    world = World(bureau_down=True)
    world.store.save_score(CPF.digits, BureauScore(810, NOW.date() - timedelta(days=30)))
    decision = world.decide()
    assert (decision["outcome"], decision["score"], decision["risk_band"]) == ("APPROVED", 810, "A")
    assert decision["application"]["score_source"] == "STORED"


def test_bureau_outage_with_a_stale_stored_score_goes_to_review() -> None:
    world = World(bureau_down=True)
    world.store.save_score(CPF.digits, BureauScore(810, NOW.date() - timedelta(days=31)))
    decision = world.decide()
    assert decision["outcome"] == "REVIEW"
    assert [r["code"] for r in decision["reasons"]] == ["BUREAU_UNAVAILABLE"]
    assert decision["approved_amount"] is None


def test_no_score_at_the_bureau_goes_to_review() -> None:
    decision = World(score=None).decide()
    assert (decision["outcome"], [r["code"] for r in decision["reasons"]]) == ("REVIEW", ["NO_SCORE"])


def test_stored_decision_reads_back_into_the_same_application() -> None:
    world = World()
    decision = world.decide()
    application = application_from_wire(decision["application"])
    assert application.score == 720 and application.score_source is ScoreSource.BUREAU
    assert application.today == date(2026, 11, 22)
    assert world.policies.active().decide(application).outcome.value == decision["outcome"]


def test_a_stored_decision_reads_back_as_the_decision_that_was_made() -> None:
    world = World(bureau_down=True)  # a REVIEW with no band and no approved amount, beside an APPROVED one
    world.decide()
    world.bureau.down = False
    world.decide()
    review, approved = world.store.decisions
    assert decision_from_wire(decision_to_wire(review)) == review
    assert decision_from_wire(decision_to_wire(approved)) == approved
    assert isinstance(decision_from_wire(decision_to_wire(approved)).evaluation.figures["dti_after"], Decimal)


def test_a_ratio_over_no_income_is_stored_as_null_and_stays_null() -> None:
    world = World()
    wire = world.decide(monthly_income=Decimal("0.00"))
    assert wire["figures"]["dti_after"] is None
    assert decision_to_wire(decision_from_wire(wire)) == wire


def test_unknown_decisions_and_customers_are_not_found() -> None:
    service = World().service
    with pytest.raises(DecisionNotFound):
        service.get_decision("dec_x")
    with pytest.raises(CustomerNotFound):
        service.get_profile(CPF)


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_policy_is_reloaded_after_the_ttl_and_compiled_once_per_content() -> None:
    store, ticks = FakeCreditStore(), Ticks()
    provider = PolicyProvider(store, ttl_seconds=300, clock=ticks)
    first = provider.active()
    assert first.ref.hash == default_policy().hash
    document = json.loads(json.dumps(default_policy().document))
    document["version"] = "2026.12.0"
    store.publish_policy(json.dumps(document), "retail-personal-credit", "2026.12.0", "h")
    ticks.now = 299
    assert provider.active() is first and store.policy_reads == 1
    ticks.now = 300
    assert provider.active().ref.version == "2026.12.0"
    ticks.now = 600
    second = provider.active()
    ticks.now = 900
    assert provider.active() is second and store.policy_reads == 4  # read again, same content: not recompiled


def test_a_broken_published_policy_never_replaces_a_good_one() -> None:
    store, ticks = FakeCreditStore(), Ticks()
    provider = PolicyProvider(store, ttl_seconds=1, clock=ticks)
    good = provider.active()
    store.policy_text = '{"policy_id": "broken"}'
    ticks.now = 5
    assert provider.active() is good and store.policy_reads == 2  # the broken one was read, and refused
    store.policy_down = True
    ticks.now = 10
    assert provider.active() is good and store.policy_reads == 3


def test_with_no_valid_policy_at_cold_start_decisions_are_refused_as_unavailable() -> None:
    store = FakeCreditStore()
    store.policy_text = "{not json"
    with pytest.raises(PolicyUnavailable):
        PolicyProvider(store).active()
