"""Per-process caches in front of the partners, each with its own TTL.

People and operators: only answers that found someone are kept (a person or operator registered a moment
ago is seen at once); failures are never kept. Operator access grants account access, so its TTL is meant
to be short.

Parametrizer areas and domain entries (the API path's lookups): fresh for `fresh_for` seconds, then asked
again; when the partner is unavailable (5xx, timeout, breaker open) an entry fetched at most `max_stale`
seconds ago is served instead (stale-while-error). "Not found" is never kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

from cachetools import TTLCache

from chalicelib.errors import PartnerUnavailable
from chalicelib.orders.model import AreaSettings, DomainEntry
from chalicelib.orders.ports import DomainCatalog, OperatorRegistry, Parametrizer, PeopleDirectory
from chalicelib.quorum.model import Contact, OperatorAccess

log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """At most `max_entries` values, each for `ttl` seconds; the oldest written goes first when full."""

    def __init__(self, ttl: float, max_entries: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() >= entry[0]:
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: K, value: V) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (self._clock() + self._ttl, value)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


class CachedPeople(PeopleDirectory):
    def __init__(self, inner: PeopleDirectory, cache: TtlCache[str, Contact]) -> None:
        self._inner = inner
        self._cache = cache

    def contact(self, cpf: str) -> Contact | None:
        found = self._cache.get(cpf)
        if found is None:
            found = self._inner.contact(cpf)
            if found is not None:
                self._cache.put(cpf, found)
        return found

    def contacts_of(self, cpfs: Sequence[str], executor: Executor) -> Callable[[], dict[str, Contact | None]]:
        known: dict[str, Contact | None] = {cpf: self._cache.get(cpf) for cpf in dict.fromkeys(cpfs)}
        missing = [cpf for cpf, contact in known.items() if contact is None]
        pending = self._inner.contacts_of(missing, executor) if missing else None

        def collect() -> dict[str, Contact | None]:
            for cpf, contact in (pending() if pending else {}).items():
                known[cpf] = contact
                if contact is not None:
                    self._cache.put(cpf, contact)
            return known

        return collect


class CachedOperators(OperatorRegistry):
    def __init__(self, inner: OperatorRegistry, cache: TtlCache[tuple[str, str, str], OperatorAccess]) -> None:
        self._inner = inner
        self._cache = cache

    def access(self, holder: str, cpf: str, platform: str) -> OperatorAccess | None:
        found = self._cache.get((holder, cpf, platform))
        if found is None:
            found = self._inner.access(holder, cpf, platform)
            if found is not None:
                self._cache.put((holder, cpf, platform), found)
        return found

    def accesses_of(
        self, holder: str, cpfs: Sequence[str], platform: str, executor: Executor
    ) -> Callable[[], dict[str, OperatorAccess | None]]:
        known = {cpf: self._cache.get((holder, cpf, platform)) for cpf in dict.fromkeys(cpfs)}
        missing = [cpf for cpf, access in known.items() if access is None]
        pending = self._inner.accesses_of(holder, missing, platform, executor) if missing else None

        def collect() -> dict[str, OperatorAccess | None]:
            for cpf, access in (pending() if pending else {}).items():
                known[cpf] = access
                if access is not None:
                    self._cache.put((holder, cpf, platform), access)
            return known

        return collect


class StaleWhileError(Generic[K, V]):
    """Answers reused for `fresh_for` seconds; kept up to `max_stale` seconds for when the partner fails."""

    def __init__(
        self,
        partner: str,
        fresh_for: float,
        max_stale: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._partner = partner
        self._fresh_for = fresh_for
        self._keep_for = max(fresh_for, max_stale)
        self._clock = clock
        self._entries: TTLCache[K, tuple[float, V]] | None = (
            TTLCache(max_entries, ttl=self._keep_for, timer=clock) if self._keep_for > 0 else None
        )
        self._lock = threading.Lock()

    def get(self, key: K, load: Callable[[], V | None]) -> V | None:
        entry = self._cached(key)
        if entry is not None and self._clock() - entry[0] < self._fresh_for:
            return entry[1]
        try:
            value = load()
        except PartnerUnavailable as exc:
            if entry is None:
                raise
            log.warning(
                "partner unavailable: serving a cached answer",
                extra={"partner": self._partner, "code": exc.code, "age_seconds": round(self._clock() - entry[0])},
            )
            return entry[1]
        if value is not None and self._entries is not None:
            with self._lock:
                self._entries[key] = (self._clock(), value)
        return value

    def _cached(self, key: K) -> tuple[float, V] | None:
        if self._entries is None:
            return None
        with self._lock:
            return self._entries.get(key)


class CachedParametrizer(Parametrizer):
    def __init__(self, inner: Parametrizer, cache: StaleWhileError[str, AreaSettings]) -> None:
        self._inner = inner
        self._cache = cache

    def area(self, area_id: str) -> AreaSettings | None:
        return self._cache.get(area_id, lambda: self._inner.area(area_id))


class CachedDomains(DomainCatalog):
    def __init__(self, inner: DomainCatalog, cache: StaleWhileError[tuple[str, str], DomainEntry]) -> None:
        self._inner = inner
        self._cache = cache

    def entry(self, domain: str, key: str) -> DomainEntry | None:
        return self._cache.get((domain, key), lambda: self._inner.entry(domain, key))
