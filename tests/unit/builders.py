"""Small builders so engine tests read as the scenario they describe."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chalicelib.documents import Cnpj, Cpf
from chalicelib.quorum.model import Clause, GroupingRule, OrderTerms, PowerGrant, Representative, Reservation

TODAY = date(2026, 11, 22)


def cpf(n: int) -> str:
    return Cpf.from_base(f"{100000000 + n:09d}").digits


def cnpj(n: int) -> str:
    return Cnpj.from_base(f"{10000000 + n:08d}0001").digits


def terms(amount: str = "1000.00", method: str = "DIGITAL") -> OrderTerms:
    return OrderTerms(Decimal(amount), method, TODAY)


def rep(n: int, group: str, *reservations: Reservation) -> Representative:
    return Representative(cpf(n), group, reservations)


def group(name: str, minimum: int = 1) -> Clause:
    return Clause(min=minimum, group=name)


def person(n: int) -> Clause:
    return Clause(min=1, cpf=cpf(n))


def rule(rule_id: str, *clauses: Clause, max_amount: str | None = None) -> GroupingRule:
    return GroupingRule(rule_id, clauses, Decimal(max_amount) if max_amount else None)


def grant(reps: list[Representative], rules: list[GroupingRule]) -> PowerGrant:
    return PowerGrant(tuple(reps), tuple(rules))
