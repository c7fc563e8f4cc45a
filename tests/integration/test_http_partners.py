"""The HTTP adapters against the partner simulator over real sockets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.adapters import http_partners as http
from chalicelib.errors import PartnerUnavailable
from chalicelib.quorum.model import OperatorAccess
from devstack import demo_data as demo
from devstack.stack import free_port

pytestmark = pytest.mark.integration
FAST = http.HttpSettings(connect_timeout=0.5, read_timeout=0.5, retries=1)


def client(url: str, name: str = "partner", settings: http.HttpSettings = FAST) -> http.PartnerClient:
    return http.PartnerClient(name, url, http.new_session(settings), settings)


def test_parametrizer_reads_areas_and_404_is_none(partners_url: str) -> None:
    parametrizer = http.HttpParametrizer(client(partners_url))
    area = parametrizer.area(demo.AREA)
    assert area is not None and area.active and demo.PLATFORM in area.platforms
    assert area.max_amount == Decimal("5000000.00")
    assert parametrizer.area("NOPE") is None


def test_5xx_after_retries_is_partner_unavailable(partners_url: str) -> None:
    with pytest.raises(PartnerUnavailable) as error:
        http.HttpParametrizer(client(partners_url, "parametrizer")).area(demo.UNAVAILABLE_AREA)
    assert error.value.partner == "parametrizer" and "503" in error.value.detail


def test_slow_partner_times_out_as_unavailable(partners_url: str) -> None:
    with pytest.raises(PartnerUnavailable):
        http.HttpPowersDirectory(client(partners_url, settings=http.HttpSettings(read_timeout=0.3, retries=0))).grant(
            demo.SLOW.cnpj, demo.POWER
        )


def test_unreachable_partner_is_unavailable() -> None:
    with pytest.raises(PartnerUnavailable):
        http.HttpPeopleDirectory(client(f"http://127.0.0.1:{free_port()}")).contact(demo.ANA.cpf)


def test_powers_are_parsed_with_reservations_and_rules(partners_url: str) -> None:
    grant = http.HttpPowersDirectory(client(partners_url)).grant(demo.ACME.cnpj, demo.POWER)
    assert grant is not None
    by_cpf = {r.cpf: r for r in grant.representatives}
    assert by_cpf[demo.DIEGO.cpf].reservations[0].max_amount == Decimal("50000.00")
    assert by_cpf[demo.ELISA.cpf].reservations[0].valid_until is not None
    assert {r.rule_id for r in grant.rules} == {"ADMIN-ALONE", "TWO-DIRECTORS", "DIRECTOR-WITH-CFO"}
    assert http.HttpPowersDirectory(client(partners_url)).grant(demo.NO_REPS.cnpj, demo.POWER) is None


def test_people_domains_and_operators(partners_url: str) -> None:
    person = http.HttpPeopleDirectory(client(partners_url)).contact(demo.ANA.cpf)
    assert person is not None and person.name == "Ana Souza"
    assert http.HttpPeopleDirectory(client(partners_url)).contact(demo.UNKNOWN_PERSON) is None
    entry = http.HttpDomainCatalog(client(partners_url)).entry("product", "OLD-LEASING")
    assert entry is not None and not entry.active
    operators = http.HttpOperatorRegistry(client(partners_url))
    assert operators.access(demo.ACME.cnpj, demo.ANA.cpf, demo.PLATFORM) == OperatorAccess(True, True)
    assert operators.access(demo.ACME.cnpj, demo.ANA.cpf, "OTHER") is None


def test_bureau_scores_404_and_outage(partners_url: str) -> None:
    import requests

    from chalicelib.adapters.http_bureau import HttpCreditBureau

    bureau = HttpCreditBureau(client(partners_url, "bureau"))
    score = bureau.score(demo.ANA.cpf)
    assert score is not None and score.score == 870
    assert bureau.score(demo.NO_SCORE_PERSON.cpf) is None
    requests.put(f"{partners_url}/__sim/bureau/{demo.HELENA.cpf}", json={"mode": "down"}, timeout=5)
    try:
        with pytest.raises(PartnerUnavailable):
            bureau.score(demo.HELENA.cpf)
    finally:
        requests.put(f"{partners_url}/__sim/bureau/{demo.HELENA.cpf}", json={"mode": "up"}, timeout=5)
    assert bureau.score(demo.HELENA.cpf) is not None
