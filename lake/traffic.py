"""Generated traffic: a realistic mix of orders and credit decisions over several simulated days.

Items come out exactly as the app stores them (PynamoDB's attribute formats, the wire JSON of
chalicelib.orders.wire / chalicelib.credit.wire), decisions decided by the real credit engine under
the default policy. `make lake-traffic` writes them straight into the local stack's tables
(batch writes as the endpoint's administrator), with `created_at` on the simulated days: going through
the API would stamp every item with today. Tests write them as export files instead.

CPFs and CNPJs are generated with valid check digits (chalicelib.documents) in a range nobody owns.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.credit.engine import CompiledPolicy
from chalicelib.credit.model import Application, CreditDecision, ScoreSource
from chalicelib.credit.policy import default_policy
from chalicelib.credit.wire import decision_to_wire
from chalicelib.documents import Cnpj, Cpf
from devstack.demo_data import SCORES

AREAS = ("AREA-CREDIT", "AREA-CONSORTIUM", "AREA-INSURANCE")
PLATFORMS = ("BANKLINE", "MOBILE_PJ", "BRANCH")
METHODS = ("DIGITAL", "ELECTRONIC")
PARTNERS = ("powers", "people", "operators", "accounts")
NO_QUORUM_REASONS = ("NO_RULE_SATISFIED", "NO_ENABLED_REPRESENTATIVES", "NO_ACTIVE_OPERATOR", "NO_REPRESENTATIVES")
PRODUCTS = ("PERSONAL_LOAN", "PAYROLL_LOAN", "VEHICLE_FINANCING")
_TS = "%Y-%m-%dT%H:%M:%S.%f+0000"


@dataclass(frozen=True, slots=True)
class TrafficShape:
    start: date
    days: int = 7
    orders_per_day: int = 200
    decisions_per_day: int = 400
    customers: int = 2000
    score_mean: float = 680.0
    score_shift: float = 0.0
    """Added to every score from `shift_from_day` on (0-based): a drifted population."""
    shift_from_day: int = 0
    score_sd: float = 130.0
    seed: int = 14


def cpf(n: int) -> str:
    return Cpf.from_base(f"{600000000 + n:09d}").digits


def cnpj(n: int) -> str:
    return Cnpj.from_base(f"{60000000 + n:08d}0001").digits


def _ts(at: datetime) -> dict[str, str]:
    return {"S": at.astimezone(UTC).strftime(_TS)}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _json(value: Any) -> dict[str, str]:
    return {"S": json.dumps(value)}


class Traffic:
    def __init__(self, shape: TrafficShape) -> None:
        self.shape = shape
        self.rng = random.Random(shape.seed)
        self.policy = CompiledPolicy(default_policy())
        self._people = [cpf(n) for n in range(1, 201)]
        self._companies = [cnpj(n) for n in range(1, 101)]
        self._customers = [cpf(1000 + n) for n in range(shape.customers)]
        self._scored = sorted(SCORES)

    def _uuid(self) -> str:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4).hex

    def _moment(self, day: int) -> datetime:
        start = datetime.combine(self.shape.start, datetime.min.time(), UTC) + timedelta(days=day)
        return start + timedelta(seconds=self.rng.uniform(6 * 3600, 22 * 3600))

    def orders(self) -> Iterator[dict[str, Any]]:
        for day in range(self.shape.days):
            for _ in range(self.shape.orders_per_day):
                yield self._order(day)

    def decisions(self) -> Iterator[dict[str, Any]]:
        for day in range(self.shape.days):
            for _ in range(self.shape.decisions_per_day):
                yield self._decision(day)

    def _order(self, day: int) -> dict[str, Any]:
        rng = self.rng
        created = self._moment(day)
        area = rng.choices(AREAS, weights=(6, 3, 1))[0]
        pj = rng.random() < 0.8
        requester = {"type": "PJ" if pj else "PF", "document": rng.choice(self._companies if pj else self._people)}
        guarantors = [{"type": "PF", "document": rng.choice(self._people)} for _ in range(rng.choice((0, 0, 1, 2)))]
        request = {
            "area_id": area,
            "product": rng.choice(PRODUCTS),
            "power_code": "SIGN_CREDIT",
            "platform": rng.choices(PLATFORMS, weights=(6, 3, 1))[0],
            "signature_method": rng.choice(METHODS),
            "amount": f"{rng.uniform(1000, 500000):.2f}",
            "requester": requester,
            "guarantors": guarantors,
        }
        # Failure rates differ by area so that the report has something to say.
        failing = {"AREA-CREDIT": 0.03, "AREA-CONSORTIUM": 0.08, "AREA-INSURANCE": 0.15}[area]
        roll = rng.random()
        status = (
            "PROCESSING"
            if roll < 0.02
            else "FAILED"
            if roll < 0.02 + failing
            else "NO_QUORUM"
            if roll < 0.14 + failing
            else "QUORUM_MET"
        )
        item: dict[str, Any] = {
            "order_key": _s(f"ord_{self._uuid()}"),
            "status": _s(status),
            "request": _json(request),
            "created_at": _ts(created),
            "updated_at": _ts(created),
            "result_published": {"BOOL": status in ("QUORUM_MET", "NO_QUORUM")},
        }
        if status in ("QUORUM_MET", "NO_QUORUM"):
            decided = created + timedelta(seconds=rng.uniform(0.5, 40))
            reason = None if status == "QUORUM_MET" else rng.choice(NO_QUORUM_REASONS)
            parties = [self._party("REQUESTER", requester, status == "QUORUM_MET", reason)]
            parties += [self._party("GUARANTOR", g, True, None) for g in guarantors]
            item |= {"parties": _json(parties), "decided_at": _ts(decided), "updated_at": _ts(decided)}
            if reason:
                item["reason"] = _s(reason)
        elif status == "FAILED":
            partner = rng.choices(PARTNERS, weights=(5, 2, 2, 1))[0]
            kind = rng.choice(("timeout", "answered 503", "connection refused"))
            item |= {
                "reason": _s("PARTNER_UNAVAILABLE"),
                "failure_detail": _s(f"partner service '{partner}' is unavailable: {kind}"),
                "updated_at": _ts(created + timedelta(minutes=5)),
            }
        return item

    def _party(self, role: str, ref: dict[str, str], quorum: bool, reason: str | None) -> dict[str, Any]:
        rng = self.rng
        people = rng.sample(self._people, rng.randint(1, 4)) if ref["type"] == "PJ" else [ref["document"]]
        participants = [
            {
                "cpf": p,
                "name": f"Pessoa {p[-4:]}",
                "email": f"p{p[-4:]}@example.com.br",
                "phone": f"+55 11 9{p[-8:-4]}-{p[-4:]}",
                "group": "ADMIN",
                "groups": ["ADMIN"],
                "enabled": rng.random() < 0.9,
                "reservation": None,
                "disabled_reasons": [],
            }
            for p in people
        ]
        signers = [p["cpf"] for p in participants if p["enabled"]][:2] if quorum else []
        return {
            "role": role,
            "type": ref["type"],
            "document": ref["document"],
            "quorum": quorum,
            "reason": reason,
            "participants": participants,
            "satisfied_rules": ["R1"] if quorum else [],
            "signer_sets": [signers] if signers else [],
            "signer_sets_total": 1 if signers else 0,
            "signer_sets_total_exact": True,
            "signers": signers,
        }

    def _decision(self, day: int) -> dict[str, Any]:
        rng = self.rng
        shape = self.shape
        created = self._moment(day)
        roll = rng.random()
        # Half of those the bureau could not score at decision time are people the local bureau knows,
        # so that enrichment finds their band afterwards (the rest stay UNKNOWN).
        known = roll < 0.06 and self._scored and rng.random() < 0.5
        customer = rng.choice(self._scored) if known else rng.choice(self._customers)
        shift = shape.score_shift if day >= shape.shift_from_day else 0.0
        score = min(1000, max(0, round(rng.gauss(shape.score_mean + shift, shape.score_sd))))
        source = ScoreSource.UNAVAILABLE if roll < 0.05 else ScoreSource.NONE if roll < 0.06 else ScoreSource.BUREAU
        income = Decimal(f"{rng.lognormvariate(8.5, 0.5):.2f}")
        # Amounts in proportion to income, debts a modest share of it: most applicants fit the policy, the
        # tails get DTI reviews and refusals, as a lender's book looks.
        term = rng.choice((6, 12, 24, 36, 48, 60))
        share = rng.choice((0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.45))
        amount = max(Decimal("500.00"), income * Decimal(f"{term * share * rng.uniform(0.7, 1.0):.4f}"))
        application = Application(
            amount=amount.quantize(Decimal("0.01")),
            term_months=term,
            product=rng.choices(PRODUCTS, weights=(6, 3, 1))[0],
            monthly_income=income,
            existing_debts=Decimal(f"{float(income) * rng.choice((0, 0, 0, 0.05, 0.1, 0.2)):.2f}"),
            score=score if source is ScoreSource.BUREAU else None,
            score_as_of=created.date() if source is ScoreSource.BUREAU else None,
            score_source=source,
            today=created.date(),
        )
        decision = CreditDecision(
            f"dec_{self._uuid()}", customer, application, self.policy.decide(application), created
        )
        return decision_item(decision)


def decision_item(decision: CreditDecision) -> dict[str, Any]:
    """The DECISION item PynamoCreditStore.add_decision writes, in DynamoDB JSON."""
    return {
        "pk": _s(f"DECISION#{decision.decision_id}"),
        "sk": _s("DECISION"),
        "entity": _s("DECISION"),
        "last_updated": _ts(decision.created_at),
        "status": _s(decision.evaluation.outcome.value),
        "created_at": _ts(decision.created_at),
        "customer": _s(f"CUSTOMER#{decision.cpf}"),
        "data": _json(decision_to_wire(decision)),
    }


def put_all(client: Any, table: str, items: Iterator[dict[str, Any]]) -> int:
    """Batch-writes `items` into `table` (25 at a time, unprocessed ones again)."""
    written = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        pending: list[dict[str, Any]] = [{"PutRequest": {"Item": i}} for i in batch]
        while pending:
            answer = client.batch_write_item(RequestItems={table: pending})
            pending = answer.get("UnprocessedItems", {}).get(table, [])

    for item in items:
        batch.append(item)
        if len(batch) == 25:
            flush()
            written += len(batch)
            batch = []
    if batch:
        flush()
        written += len(batch)
    return written
