"""Batch lookups of people and operators over HTTP: chunks of 100, in parallel, per-person fallback."""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from chalicelib.adapters import http_partners as http
from chalicelib.adapters.resilience import ResilienceSettings
from chalicelib.errors import PartnerUnavailable
from chalicelib.quorum.model import Contact, OperatorAccess
from tests.unit.fake_http import FakePool, SentRequest, SwitchedPool

BASE = "http://partner.test"
SETTINGS = http.HttpSettings(resilience=ResilienceSettings(retries=0))
HOLDER = "12345678000195"
CPFS = [f"{n:011d}" for n in range(1, 251)]  # 250: chunks of 100, 100, 50
KNOWN = set(CPFS[::3])


POOL = SwitchedPool()


def client() -> http.PartnerClient:
    return http.PartnerClient("people", BASE, POOL.as_pool(), SETTINGS)


def person_body(cpf: str) -> dict[str, str]:
    return {"cpf": cpf, "name": f"Pessoa {cpf[-3:]}", "email": f"p{cpf[-3:]}@example.test"}


def people_batch(request: SentRequest) -> tuple[int, dict[str, str], str]:
    cpfs = json.loads(request.body or b"")["cpfs"]
    return 200, {}, json.dumps({"people": {c: person_body(c) for c in cpfs if c in KNOWN}})


def person(request: SentRequest) -> tuple[int, dict[str, str], str]:
    cpf = urlsplit(request.url).path.rsplit("/", 1)[1]
    return (200, {}, json.dumps(person_body(cpf))) if cpf in KNOWN else (404, {}, "{}")


def operators_batch(request: SentRequest) -> tuple[int, dict[str, str], str]:
    payload = json.loads(request.body or b"")
    assert payload["platform"] == "BANKLINE"
    found = {c: {"operator_active": True, "account_access": c.endswith("3")} for c in payload["cpfs"] if c in KNOWN}
    return 200, {}, json.dumps({"operators": found})


def operator(request: SentRequest) -> tuple[int, dict[str, str], str]:
    cpf = urlsplit(request.url).path.rsplit("/", 1)[1]
    if cpf not in KNOWN:
        return 404, {}, "{}"
    return 200, {}, json.dumps({"operator_active": True, "account_access": cpf.endswith("3")})


@pytest.fixture
def executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=8)


def per_person_routes(rsps: FakePool) -> None:
    rsps.add_callback("GET", http_re(r"/people/\d{11}$"), callback=person)
    operator_route = rf"/holders/{HOLDER}/operators/\d{{11}}\?platform=BANKLINE$"
    rsps.add_callback("GET", http_re(operator_route), callback=operator)


def http_re(path: str) -> re.Pattern[str]:
    return re.compile(re.escape(BASE) + path)


def test_people_in_chunks_of_100_match_the_per_person_answers(executor: ThreadPoolExecutor) -> None:
    with POOL.mocked() as rsps:
        rsps.add_callback("POST", f"{BASE}/people/batch", callback=people_batch)
        per_person_routes(rsps)
        batched = http.HttpPeopleDirectory(client()).contacts_of(CPFS + CPFS[:5], executor)()
        sizes = sorted(len(json.loads(c.request.body or b"")["cpfs"]) for c in rsps.calls if c.request.method == "POST")
        assert sizes == [50, 100, 100] and len(rsps.calls) == 3
        single = {cpf: http.HttpPeopleDirectory(client()).contact(cpf) for cpf in CPFS}
    assert batched == single
    assert batched[CPFS[0]] == Contact(name="Pessoa 001", email="p001@example.test", phone=None)
    assert batched[CPFS[1]] is None


def test_operators_in_chunks_match_the_per_person_answers(executor: ThreadPoolExecutor) -> None:
    with POOL.mocked() as rsps:
        rsps.add_callback("POST", f"{BASE}/holders/{HOLDER}/operators/batch", callback=operators_batch)
        per_person_routes(rsps)
        registry = http.HttpOperatorRegistry(client())
        batched = registry.accesses_of(HOLDER, CPFS, "BANKLINE", executor)()
        assert len(rsps.calls) == 3
        single = {cpf: registry.access(HOLDER, cpf, "BANKLINE") for cpf in CPFS}
    assert batched == single
    assert batched[CPFS[3]] == OperatorAccess(True, False) and batched[CPFS[2]] is None


@pytest.mark.parametrize("status", [404, 405, 501])
def test_no_batch_route_falls_back_per_person_and_is_remembered(executor: ThreadPoolExecutor, status: int) -> None:
    now = [0.0]
    route = http.BatchRoute(forget_after=60, clock=lambda: now[0])
    people = http.HttpPeopleDirectory(client(), route)
    with POOL.mocked() as rsps:
        rsps.add("POST", f"{BASE}/people/batch", status=status, json_body={"message": "no"})
        per_person_routes(rsps)
        first = people.contacts_of(CPFS[:120], executor)()
        assert sum(c.request.method == "POST" for c in rsps.calls) == 2
        assert sum(c.request.method == "GET" for c in rsps.calls) == 120
        now[0] = 59.0
        second = people.contacts_of(CPFS[:120], executor)()
        assert sum(c.request.method == "POST" for c in rsps.calls) == 2  # remembered: no batch call
        now[0] = 60.0
        people.contacts_of(CPFS[:10], executor)()
        assert sum(c.request.method == "POST" for c in rsps.calls) == 3  # forgotten: tried again
    assert (
        first
        == second
        == {
            cpf: (
                Contact(name=person_body(cpf)["name"], email=person_body(cpf)["email"], phone=None)
                if cpf in KNOWN
                else None
            )
            for cpf in CPFS[:120]
        }
    )


def test_batch_5xx_and_bad_shape_are_unavailable_not_a_fallback(executor: ThreadPoolExecutor) -> None:
    route = http.BatchRoute()
    people = http.HttpPeopleDirectory(client(), route)
    with POOL.mocked() as rsps:
        rsps.add("POST", f"{BASE}/people/batch", status=503, json_body={})
        with pytest.raises(PartnerUnavailable):
            people.contacts_of(CPFS[:3], executor)()
    with POOL.mocked() as rsps:
        rsps.add("POST", f"{BASE}/people/batch", status=200, json_body={"people": []})
        with pytest.raises(PartnerUnavailable):
            people.contacts_of(CPFS[:3], executor)()
    assert route.usable()


def test_nothing_to_look_up_makes_no_call(executor: ThreadPoolExecutor) -> None:
    with POOL.mocked() as rsps:
        assert http.HttpOperatorRegistry(client()).accesses_of(HOLDER, [], "BANKLINE", executor)() == {}
        assert not rsps.calls


def test_one_partner_never_has_more_calls_in_flight_than_configured() -> None:
    settings = http.HttpSettings(max_in_flight=3, resilience=ResilienceSettings(retries=0))
    partner = http.PartnerClient("people", BASE, POOL.as_pool(), settings)
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def slow(request: SentRequest) -> tuple[int, dict[str, str], str]:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return 200, {}, "{}"

    with POOL.mocked() as rsps:
        rsps.add_callback("GET", http_re(r"/people/\d{11}$"), callback=slow)
        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(lambda cpf: partner.get_json(f"/people/{cpf}"), CPFS[:20]))
    assert state["peak"] == 3
