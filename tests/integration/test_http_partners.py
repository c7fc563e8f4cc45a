"""The HTTP adapters against the partner simulator over real sockets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from chalicelib.adapters import http_partners as http
from chalicelib.adapters.resilience import PartnerCallFailed, ResilienceSettings
from chalicelib.errors import PartnerCircuitOpen, PartnerUnavailable
from chalicelib.quorum.model import OperatorAccess
from devstack import demo_data as demo
from devstack.simulator import make_server
from devstack.stack import free_port

pytestmark = pytest.mark.integration
FAST = http.HttpSettings(connect_timeout=0.5, read_timeout=0.5, resilience=ResilienceSettings(retries=1))


def client(url: str, name: str = "partner", settings: http.HttpSettings = FAST) -> http.PartnerClient:
    return http.PartnerClient(name, url, http.new_pool(settings), settings)


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
    with pytest.raises(PartnerCallFailed) as error:
        http.HttpPowersDirectory(
            client(partners_url, settings=http.HttpSettings(read_timeout=0.3, resilience=ResilienceSettings(retries=0)))
        ).grant(demo.SLOW.cnpj, demo.POWER)
    assert error.value.kind == "timeout"


def test_unreachable_partner_is_unavailable() -> None:
    with pytest.raises(PartnerCallFailed) as error:
        http.HttpPeopleDirectory(client(f"http://127.0.0.1:{free_port()}")).contact(demo.ANA.cpf)
    assert error.value.kind == "connection"


def test_a_partner_that_keeps_failing_opens_its_breaker_and_is_then_failed_fast(partners_url: str) -> None:
    settings = http.HttpSettings(
        connect_timeout=0.5, read_timeout=0.5, resilience=ResilienceSettings(retries=0, fail_max=2)
    )
    parametrizer = http.HttpParametrizer(client(partners_url, "parametrizer", settings))
    for _ in range(2):
        with pytest.raises(PartnerCallFailed):
            parametrizer.area(demo.UNAVAILABLE_AREA)
    started = time.perf_counter()
    with pytest.raises(PartnerCircuitOpen) as error:
        parametrizer.area(demo.AREA)  # a healthy area: the partner is not even asked
    assert error.value.code == "PARTNER_CIRCUIT_OPEN" and time.perf_counter() - started < 0.05


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


LARGE = demo.LARGE_COMPANY_PEOPLE[:250]


@pytest.fixture
def per_person_only_url() -> Iterator[str]:
    """A partner with only the per-person routes: its batch routes answer 404."""
    server = make_server("127.0.0.1", 0, batch_routes=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_batch_lookups_equal_per_person_lookups(partners_url: str) -> None:
    cpfs = [p.cpf for p in LARGE] + [demo.ANA.cpf, demo.UNKNOWN_PERSON]
    people = http.HttpPeopleDirectory(client(partners_url))
    operators = http.HttpOperatorRegistry(client(partners_url))
    with ThreadPoolExecutor(max_workers=8) as executor:
        contacts = people.contacts_of(cpfs, executor)()
        accesses = operators.accesses_of(demo.LARGE_COMPANY.cnpj, cpfs, demo.PLATFORM, executor)()
    assert contacts == {cpf: people.contact(cpf) for cpf in cpfs}
    assert contacts[demo.UNKNOWN_PERSON] is None and contacts[LARGE[0].cpf] is not None
    assert accesses == {cpf: operators.access(demo.LARGE_COMPANY.cnpj, cpf, demo.PLATFORM) for cpf in cpfs}
    assert accesses[demo.ANA.cpf] is None and accesses[LARGE[249].cpf] == OperatorAccess(True, True)


def test_batch_route_over_the_limit_is_refused(partners_url: str) -> None:
    body = {"cpfs": [p.cpf for p in demo.LARGE_COMPANY_PEOPLE[:101]]}
    with pytest.raises(PartnerUnavailable) as error:
        client(partners_url).post_json("/people/batch", body)
    assert error.value.detail == "HTTP 400"
    assert client(partners_url).post_json("/people/batch", {"cpfs": body["cpfs"][:100]}) is not None


def test_partner_without_batch_routes_is_asked_per_person(per_person_only_url: str, partners_url: str) -> None:
    cpfs = [p.cpf for p in LARGE[:120]] + [demo.UNKNOWN_PERSON]
    route = http.BatchRoute()
    people = http.HttpPeopleDirectory(client(per_person_only_url), route)
    with ThreadPoolExecutor(max_workers=8) as executor:
        contacts = people.contacts_of(cpfs, executor)()
        expected = http.HttpPeopleDirectory(client(partners_url)).contacts_of(cpfs, executor)()
    assert not route.usable()
    assert contacts == expected and contacts[demo.UNKNOWN_PERSON] is None
