"""Demo partner data: one company or person per verdict and reason the API can give.

All documents have valid check digits and belong to nobody; the e2e tests and the README
refer to these names, so change them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.documents import Cnpj, Cpf

POWER = "SIGN_CREDIT"
PLATFORM = "BANKLINE"
AREA = "AREA-CREDIT"
SECOND_AREA = "AREA-CONSORTIUM"
"""Another area's system (its demo client places and reads orders only): what tenancy keeps apart from AREA's."""


def _cpf(n: int) -> str:
    return Cpf.from_base(f"{700000000 + n:09d}").digits


def _cnpj(n: int) -> str:
    return Cnpj.from_base(f"{n:08d}0001").digits


@dataclass(frozen=True)
class DemoPerson:
    cpf: str
    name: str

    @property
    def email(self) -> str:
        return f"{self.name.split()[0].lower()}@example.com.br"

    @property
    def phone(self) -> str:
        return f"+55 11 9{self.cpf[-8:-4]}-{self.cpf[-4:]}"


@dataclass
class DemoCompany:
    cnpj: str
    name: str
    representatives: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    powers_status: int = 200
    powers_delay: float = 0.0


ANA = DemoPerson(_cpf(1), "Ana Souza")
BRUNO = DemoPerson(_cpf(2), "Bruno Lima")
CARLA = DemoPerson(_cpf(3), "Carla Dias")
DIEGO = DemoPerson(_cpf(4), "Diego Alves")
ELISA = DemoPerson(_cpf(5), "Elisa Rocha")
FABIO = DemoPerson(_cpf(6), "Fabio Nunes")
GABRIELA = DemoPerson(_cpf(7), "Gabriela Reis")
HELENA = DemoPerson(_cpf(8), "Helena Prado")
IGOR = DemoPerson(_cpf(9), "Igor Mendes")
JULIA = DemoPerson(_cpf(10), "Julia Castro")
KAIO = DemoPerson(_cpf(11), "Kaio Freitas")
LARA = DemoPerson(_cpf(12), "Lara Teixeira")
MARCOS = DemoPerson(_cpf(13), "Marcos Pinto")
UNKNOWN_PERSON = _cpf(99)  # valid CPF the people service does not know

PEOPLE = [ANA, BRUNO, CARLA, DIEGO, ELISA, FABIO, GABRIELA, HELENA, IGOR, JULIA, KAIO, LARA, MARCOS]


def _rep(person: DemoPerson | str, group: str, *reservations: dict[str, Any]) -> dict[str, Any]:
    cpf = person.cpf if isinstance(person, DemoPerson) else person
    return {"cpf": cpf, "group": group, "reservations": list(reservations)}


ACME = DemoCompany(
    _cnpj(11111111),
    "Acme Industria S.A. (quorum met; shows every kind of disabled participant)",
    representatives=[
        _rep(ANA, "ADMIN"),
        _rep(BRUNO, "DIRECTOR"),
        _rep(CARLA, "DIRECTOR"),
        _rep(DIEGO, "DIRECTOR", {"type": "AMOUNT_LIMIT", "max_amount": "50000.00"}),
        _rep(ELISA, "CFO", {"type": "VALIDITY", "valid_until": "2024-12-31"}),
        _rep(FABIO, "ADMIN"),
        _rep(GABRIELA, "DIRECTOR", {"type": "SIGNATURE_METHOD", "allowed_methods": ["PHYSICAL"]}),
        _rep(UNKNOWN_PERSON, "PROXY", {"type": "COURT_ORDER"}),
        _rep(JULIA, "DIRECTOR"),
    ],
    rules=[
        {"rule_id": "ADMIN-ALONE", "clauses": [{"group": "ADMIN", "min": 1}], "max_amount": "1000000.00"},
        {"rule_id": "TWO-DIRECTORS", "clauses": [{"group": "DIRECTOR", "min": 2}], "max_amount": None},
        {"rule_id": "DIRECTOR-WITH-CFO", "clauses": [{"group": "DIRECTOR", "min": 1}, {"cpf": ELISA.cpf, "min": 1}]},
    ],
)
NO_REPS = DemoCompany(_cnpj(22222222), "Sem Poderes Ltda. (NO_REPRESENTATIVES)", powers_status=404)
ALL_RESERVED = DemoCompany(
    _cnpj(33333333),
    "Ressalvas Comercio Ltda. (NO_ENABLED_REPRESENTATIVES)",
    representatives=[
        _rep(KAIO, "DIRECTOR", {"type": "AMOUNT_LIMIT", "max_amount": "1000.00"}),
        _rep(LARA, "DIRECTOR", {"type": "VALIDITY", "valid_until": "2020-01-01"}),
        _rep(MARCOS, "DIRECTOR", {"type": "COURT_ORDER"}),
    ],
    rules=[{"rule_id": "ANY-DIRECTOR", "clauses": [{"group": "DIRECTOR", "min": 1}]}],
)
NO_OPERATOR = DemoCompany(
    _cnpj(44444444),
    "Sem Operador S.A. (NO_ACTIVE_OPERATOR)",
    representatives=[_rep(KAIO, "DIRECTOR"), _rep(LARA, "DIRECTOR"), _rep(MARCOS, "DIRECTOR")],
    rules=[{"rule_id": "ANY-DIRECTOR", "clauses": [{"group": "DIRECTOR", "min": 1}]}],
)
NO_RULE = DemoCompany(
    _cnpj(55555555),
    "Regra Dupla Ltda. (NO_RULE_SATISFIED: one director left, two must sign)",
    representatives=[_rep(KAIO, "DIRECTOR"), _rep(LARA, "DIRECTOR")],
    rules=[{"rule_id": "TWO-DIRECTORS", "clauses": [{"group": "DIRECTOR", "min": 2}]}],
)
FLAKY = DemoCompany(_cnpj(66666666), "Instavel S.A. (powers always 503: FAILED via DLQ)", powers_status=503)
SLOW = DemoCompany(
    _cnpj(77777777),
    "Lenta S.A. (powers answer after 3 s: times out)",
    representatives=[_rep(KAIO, "DIRECTOR")],
    rules=[{"rule_id": "ANY-DIRECTOR", "clauses": [{"group": "DIRECTOR", "min": 1}]}],
    powers_delay=3.0,
)
GUARANTOR_CO = DemoCompany(
    _cnpj(88888888),
    "Garantidora S.A. (quorum met, one director signs alone)",
    representatives=[_rep(JULIA, "DIRECTOR")],
    rules=[{"rule_id": "ANY-DIRECTOR", "clauses": [{"group": "DIRECTOR", "min": 1}]}],
)

COMPANIES = [ACME, NO_REPS, ALL_RESERVED, NO_OPERATOR, NO_RULE, FLAKY, SLOW, GUARANTOR_CO]

LARGE_COMPANY_SIZE = 2000
LARGE_COMPANY_PEOPLE = [DemoPerson(_cpf(1000 + n), f"Representante Grande {n:04d}") for n in range(LARGE_COMPANY_SIZE)]
LARGE_COMPANY = DemoCompany(
    _cnpj(99999999),
    "Grande Holding S.A. (2,000 directors: its verdict goes by claim check)",
    representatives=[_rep(person, "DIRECTOR") for person in LARGE_COMPANY_PEOPLE],
    # The chair and the CEO sign together: two notices, while every director is still listed in the verdict.
    rules=[
        {
            "rule_id": "CHAIR-AND-CEO",
            "clauses": [
                {"cpf": LARGE_COMPANY_PEOPLE[0].cpf, "min": 1},
                {"cpf": LARGE_COMPANY_PEOPLE[1].cpf, "min": 1},
            ],
        }
    ],
)
"""Kept out of COMPANIES (fuzzing and log scans stay small); the simulator serves it and its people."""


def _envelope_company(size: int, cnpj: str) -> DemoCompany:
    """`make bench-envelope`'s companies: `size` directors (the large company's people), chair and CEO sign."""
    people = LARGE_COMPANY_PEOPLE[:size]
    return DemoCompany(
        cnpj,
        f"Bench {size} S.A. ({size} directors; chair and CEO sign)",
        representatives=[_rep(person, "DIRECTOR") for person in people],
        rules=[
            {
                "rule_id": "CHAIR-AND-CEO",
                "clauses": [{"cpf": people[0].cpf, "min": 1}, {"cpf": people[1].cpf, "min": 1}],
            }
        ],
    )


ENVELOPE_COMPANIES = {size: _envelope_company(size, _cnpj(88880000 + size)) for size in (10, 300)}
"""Kept out of COMPANIES like the large company; the simulator serves them."""


def _access(active: bool = True, account: bool = True) -> dict[str, bool]:
    return {"operator_active": active, "account_access": account}


# (holder, cpf) -> operator record on the BANKLINE platform; absent means 404 (no operator).
OPERATORS: dict[tuple[str, str], dict[str, bool]] = {
    (ACME.cnpj, ANA.cpf): _access(),
    (ACME.cnpj, BRUNO.cpf): _access(),
    (ACME.cnpj, CARLA.cpf): _access(),
    (ACME.cnpj, JULIA.cpf): _access(account=False),
    (NO_OPERATOR.cnpj, LARA.cpf): _access(active=False),
    (NO_OPERATOR.cnpj, MARCOS.cpf): _access(account=False),
    (NO_RULE.cnpj, KAIO.cpf): _access(),
    (SLOW.cnpj, KAIO.cpf): _access(),
    (GUARANTOR_CO.cnpj, JULIA.cpf): _access(),
    (HELENA.cpf, HELENA.cpf): _access(),
    **{(LARGE_COMPANY.cnpj, person.cpf): _access() for person in LARGE_COMPANY_PEOPLE},
    **{(c.cnpj, r["cpf"]): _access() for c in ENVELOPE_COMPANIES.values() for r in c.representatives},
}

AREAS: dict[str, dict[str, Any]] = {
    AREA: {
        "active": True,
        "platforms": [PLATFORM, "MOBILE_PJ"],
        "signature_methods": ["DIGITAL", "ELECTRONIC"],
        "max_amount": "5000000.00",
    },
    "AREA-LEGACY": {"active": False, "platforms": [PLATFORM], "signature_methods": ["DIGITAL"], "max_amount": "1.00"},
    SECOND_AREA: {"active": True, "platforms": [PLATFORM], "signature_methods": ["DIGITAL"], "max_amount": "500000.00"},
}
UNAVAILABLE_AREA = "AREA-OUTAGE"  # the parametrizer answers 503 for it

DOMAINS: dict[str, dict[str, dict[str, Any]]] = {
    "product": {
        "CCB": {"name": "Cedula de Credito Bancario", "active": True},
        "CDC": {"name": "Credito Direto ao Consumidor", "active": True},
        "OLD-LEASING": {"name": "Leasing (descontinuado)", "active": False},
    },
    "power": {
        POWER: {"name": "Assinar operacoes de credito", "active": True},
        "SIGN_GUARANTEE": {"name": "Prestar garantias", "active": True},
    },
}


def order_body(requester: str, *guarantors: str, amount: str = "150000.00", **overrides: Any) -> dict[str, Any]:
    """A valid order for the demo area; tests override one field at a time."""
    body: dict[str, Any] = {
        "area_id": AREA,
        "product": "CCB",
        "power_code": POWER,
        "platform": PLATFORM,
        "signature_method": "DIGITAL",
        "amount": amount,
        "requester": {"document": requester},
        "guarantors": [{"document": g} for g in guarantors],
    }
    body.update(overrides)
    return body


# Credit bureau: (score, days before today the score was computed); absent means 404 (no score).
SCORES: dict[str, tuple[int, int]] = {
    ANA.cpf: (870, 3),  # band A
    BRUNO.cpf: (720, 10),  # band B
    CARLA.cpf: (560, 5),  # band C
    DIEGO.cpf: (420, 7),  # band D
    ELISA.cpf: (250, 2),  # band E: below the minimum
    GABRIELA.cpf: (780, 120),  # band B, but the score is four months old
    HELENA.cpf: (690, 1),  # band B; flip her bureau to "down" to see the stored-score fallback
}
NO_SCORE_PERSON = FABIO  # the bureau has never heard of him
