"""Per-process caches in front of the people and operator partners, each with its own TTL.

Only answers that found someone are kept (a person or operator registered a moment ago is seen at once);
failures are never kept. Operator access grants account access, so its TTL is meant to be short.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

from chalicelib.orders.ports import OperatorRegistry, PeopleDirectory
from chalicelib.quorum.model import Contact, OperatorAccess

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
