"""Contact and operator-access caches (TTLs, only found answers kept, failures never kept), and the
parametrizer/domain cache with stale-while-error."""

from __future__ import annotations

import pytest

from chalicelib.adapters.partner_cache import (
    CachedDomains,
    CachedOperators,
    CachedParametrizer,
    CachedPeople,
    StaleWhileError,
    TtlCache,
)
from chalicelib.errors import PartnerCircuitOpen, PartnerUnavailable
from chalicelib.orders.model import AreaSettings, DomainEntry
from chalicelib.orders.ports import DomainCatalog, Parametrizer
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


AREA = AreaSettings("AREA-1", True, frozenset({"BANKLINE"}), frozenset({"DIGITAL"}), None)
PRODUCT = DomainEntry("product", "LEASING", "Leasing", True)


class Reference:
    """A parametrizer/domain partner whose answer or outage the test sets; counts its calls."""

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class ScriptedParametrizer(Parametrizer):
    def __init__(self, reference: Reference) -> None:
        self.reference = reference

    def area(self, area_id: str) -> AreaSettings | None:
        return self.reference()  # type: ignore[return-value]


class ScriptedDomains(DomainCatalog):
    def __init__(self, reference: Reference) -> None:
        self.reference = reference

    def entry(self, domain: str, key: str) -> DomainEntry | None:
        return self.reference()  # type: ignore[return-value]


def test_an_area_is_fresh_for_its_ttl_then_asked_again() -> None:
    clock, partner = Clock(), Reference(AREA)
    parametrizer = CachedParametrizer(
        ScriptedParametrizer(partner), StaleWhileError("parametrizer", 60, 900, clock=clock)
    )
    assert parametrizer.area("AREA-1") == AREA
    clock.now = 59.9
    assert parametrizer.area("AREA-1") == AREA and partner.calls == 1
    changed = AreaSettings("AREA-1", False, frozenset(), frozenset(), None)
    partner.answer = changed
    clock.now = 60.0
    assert parametrizer.area("AREA-1") == changed and partner.calls == 2


@pytest.mark.parametrize(
    "failure", [PartnerUnavailable("domains", "HTTP 503"), PartnerCircuitOpen("domains")], ids=["5xx", "breaker"]
)
def test_a_failing_partner_is_answered_from_a_stale_entry_up_to_the_max_stale_age(failure: Exception) -> None:
    clock, partner = Clock(), Reference(PRODUCT)
    domains = CachedDomains(ScriptedDomains(partner), StaleWhileError("domains", 60, 900, clock=clock))
    assert domains.entry("product", "LEASING") == PRODUCT
    partner.answer = failure
    clock.now = 899.0
    assert domains.entry("product", "LEASING") == PRODUCT, "stale, served instead of a 503"
    assert partner.calls == 2, "the partner was asked first"
    clock.now = 900.0
    with pytest.raises(PartnerUnavailable):
        domains.entry("product", "LEASING")


def test_a_stale_entry_is_replaced_once_the_partner_answers_again() -> None:
    clock, partner = Clock(), Reference(AREA)
    cache: StaleWhileError[str, AreaSettings] = StaleWhileError("parametrizer", 60, 900, clock=clock)
    parametrizer = CachedParametrizer(ScriptedParametrizer(partner), cache)
    parametrizer.area("AREA-1")
    clock.now = 500.0
    newer = AreaSettings("AREA-1", True, frozenset({"API"}), frozenset({"DIGITAL"}), None)
    partner.answer = newer
    assert parametrizer.area("AREA-1") == newer
    partner.answer = PartnerUnavailable("parametrizer", "ReadTimeout")
    clock.now = 1300.0  # 800 s after the newer answer: still within the max stale age
    assert parametrizer.area("AREA-1") == newer


def test_not_found_and_failures_are_never_kept() -> None:
    clock, partner = Clock(), Reference(None)
    parametrizer = CachedParametrizer(
        ScriptedParametrizer(partner), StaleWhileError("parametrizer", 60, 900, clock=clock)
    )
    assert parametrizer.area("NOPE") is None
    assert parametrizer.area("NOPE") is None and partner.calls == 2
    partner.answer = PartnerUnavailable("parametrizer", "HTTP 500")
    with pytest.raises(PartnerUnavailable):
        parametrizer.area("NOPE")


def test_a_zero_ttl_asks_every_time_yet_still_serves_stale_on_error() -> None:
    clock, partner = Clock(), Reference(AREA)
    parametrizer = CachedParametrizer(
        ScriptedParametrizer(partner), StaleWhileError("parametrizer", 0, 900, clock=clock)
    )
    parametrizer.area("AREA-1")
    parametrizer.area("AREA-1")
    assert partner.calls == 2
    partner.answer = PartnerUnavailable("parametrizer", "HTTP 500")
    assert parametrizer.area("AREA-1") == AREA
    off = CachedParametrizer(ScriptedParametrizer(partner), StaleWhileError("parametrizer", 0, 0, clock=clock))
    with pytest.raises(PartnerUnavailable):
        off.area("AREA-1")


def test_reference_cache_and_breaker_settings_have_defaults_and_are_read() -> None:
    urls = dict.fromkeys(PARTNER_URL_VARIABLES.values(), "http://x")
    defaults = Settings.from_env(urls)
    assert (defaults.reference_cache_seconds, defaults.reference_max_stale_seconds) == (60.0, 900.0)
    assert (defaults.partner_breaker_fail_max, defaults.partner_breaker_reset_seconds) == (5, 30.0)
    assert defaults.partner_retry_budget == 0.2
    chosen = Settings.from_env(
        {
            **urls,
            "AME_REFERENCE_CACHE_SECONDS": "5",
            "AME_REFERENCE_MAX_STALE_SECONDS": "120",
            "AME_PARTNER_BREAKER_FAIL_MAX": "2",
            "AME_PARTNER_BREAKER_RESET_SECONDS": "9",
            "AME_PARTNER_RETRY_BUDGET": "0.5",
        }
    )
    assert (chosen.reference_cache_seconds, chosen.reference_max_stale_seconds) == (5.0, 120.0)
    assert (chosen.partner_breaker_fail_max, chosen.partner_breaker_reset_seconds) == (2, 9.0)
    assert chosen.partner_retry_budget == 0.5
    with pytest.raises(ConfigurationError, match="AME_PARTNER_BREAKER_FAIL_MAX"):
        Settings.from_env({**urls, "AME_PARTNER_BREAKER_FAIL_MAX": "0"})
