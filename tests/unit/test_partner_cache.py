"""Contact and operator-access caches: TTLs, only found answers kept, failures never kept."""

from __future__ import annotations

import pytest

from chalicelib.adapters.partner_cache import CachedOperators, CachedPeople, TtlCache
from chalicelib.errors import PartnerUnavailable
from chalicelib.quorum.model import Contact, OperatorAccess
from chalicelib.settings import PARTNER_URL_VARIABLES, ConfigurationError, Settings
from tests.unit.fakes import FakeOperators, FakePeople, InlineExecutor

ANA, BRUNO, NOBODY = "00000000191", "00000000272", "00000000353"
HOLDER = "12345678000195"
CONTACT = Contact(name="Ana", email="ana@example.test", phone=None)
ACCESS = OperatorAccess(True, True)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_contacts_are_reused_until_the_ttl_and_not_found_is_never_kept() -> None:
    clock, inner = Clock(), FakePeople({ANA: CONTACT, BRUNO: CONTACT})
    people = CachedPeople(inner, TtlCache(300, clock=clock))
    assert people.contacts_of([ANA, NOBODY], InlineExecutor())() == {ANA: CONTACT, NOBODY: None}
    clock.now = 299.9
    assert people.contacts_of([ANA, BRUNO, NOBODY], InlineExecutor())() == {ANA: CONTACT, BRUNO: CONTACT, NOBODY: None}
    assert people.contact(ANA) == CONTACT
    assert inner.looked_up == [ANA, NOBODY, BRUNO, NOBODY]
    clock.now = 300.0
    people.contact(ANA)
    assert inner.looked_up[-1] == ANA


def test_operator_access_has_its_own_short_ttl_per_holder_and_platform() -> None:
    clock, inner = Clock(), FakeOperators({(HOLDER, ANA): ACCESS})
    operators = CachedOperators(inner, TtlCache(10, clock=clock))
    assert operators.accesses_of(HOLDER, [ANA], "BANKLINE", InlineExecutor())() == {ANA: ACCESS}
    assert operators.access(HOLDER, ANA, "BANKLINE") == ACCESS
    assert operators.access(HOLDER, ANA, "MOBILE_PJ") == ACCESS
    assert len(inner.checked) == 2
    clock.now = 10.0
    assert operators.accesses_of(HOLDER, [ANA], "BANKLINE", InlineExecutor())() == {ANA: ACCESS}
    assert len(inner.checked) == 3


def test_a_failure_is_raised_and_not_kept() -> None:
    class Down(FakePeople):
        def contact(self, cpf: str) -> Contact | None:
            raise PartnerUnavailable("people", "HTTP 503")

    people = CachedPeople(Down({}), TtlCache(300))
    with pytest.raises(PartnerUnavailable):
        people.contacts_of([ANA], InlineExecutor())()
    inner = FakePeople({ANA: CONTACT})
    people = CachedPeople(inner, TtlCache(300))
    assert people.contact(ANA) == CONTACT and inner.looked_up == [ANA]


def test_zero_ttl_never_caches_and_the_cache_is_bounded() -> None:
    inner = FakePeople({ANA: CONTACT})
    people = CachedPeople(inner, TtlCache(0))
    people.contact(ANA)
    people.contact(ANA)
    assert inner.looked_up == [ANA, ANA]
    cache: TtlCache[str, int] = TtlCache(60, max_entries=2)
    for n, key in enumerate("abc"):
        cache.put(key, n)
    assert cache.get("a") is None and cache.get("b") == 1 and cache.get("c") == 2


def test_ttls_are_configurable_and_operator_access_defaults_short() -> None:
    env = dict.fromkeys(PARTNER_URL_VARIABLES.values(), "http://partner.test")
    defaults = Settings.from_env(env)
    assert defaults.contact_cache_seconds == 300 and defaults.operator_cache_seconds == 10
    tuned = Settings.from_env({**env, "AME_CONTACT_CACHE_SECONDS": "60", "AME_OPERATOR_CACHE_SECONDS": "0"})
    assert tuned.contact_cache_seconds == 60 and tuned.operator_cache_seconds == 0
    assert defaults.partner_max_in_flight == 8
    assert Settings.from_env({**env, "AME_PARTNER_MAX_IN_FLIGHT": "2"}).partner_max_in_flight == 2
    with pytest.raises(ConfigurationError):
        Settings.from_env({**env, "AME_PARTNER_MAX_IN_FLIGHT": "0"})
