"""Enrichment: the bureau score band of decisions stored without one (the bureau was down, or no score).

Batched (distinct customers only, in batches of `batch`), cached (in memory and in a file under the
lake, keyed by pseudonym, so a re-run asks nobody again and gives the same bands), rate-limited (a
token bucket, `rate_per_second`), and bounded in flight (`workers`). When the bureau is unavailable the
first failure opens the breaker: the rest of the run asks nothing more, and those rows get no band
(risk_band_source UNAVAILABLE, risk_band UNKNOWN in curated) — the run still completes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.credit.ports import CreditBureau
from chalicelib.errors import PartnerUnavailable

BUREAU = "BUREAU"
UNAVAILABLE = "UNAVAILABLE"


@dataclass
class TokenBucket:
    rate_per_second: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _next: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> None:
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + 1.0 / self.rate_per_second
        if start > now:
            self.sleep(start - now)


@dataclass(frozen=True, slots=True)
class Lookup:
    score: int | None
    source: str
    """BUREAU (answered, score may be None: unknown person) or UNAVAILABLE."""


@dataclass
class BureauEnricher:
    bureau: CreditBureau
    cache_file: Path | None = None
    batch: int = 50
    workers: int = 4
    bucket: TokenBucket = field(default_factory=lambda: TokenBucket(20.0))
    calls: int = 0
    breaker_open: bool = False
    _cache: dict[str, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.cache_file is not None and self.cache_file.exists():
            self._cache = dict(json.loads(self.cache_file.read_text()))

    def scores(self, customers: Sequence[tuple[str, str]]) -> dict[str, Lookup]:
        """(pseudonym, cpf) pairs -> the bureau's answer per pseudonym. The CPF only travels to the bureau."""
        found: dict[str, Lookup] = {}
        missing = []
        for alias, cpf in customers:
            if alias in self._cache:
                found[alias] = Lookup(self._cache[alias], BUREAU)
            else:
                missing.append((alias, cpf))
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            for start in range(0, len(missing), max(1, self.batch)):
                batch = missing[start : start + self.batch]
                if self.breaker_open:
                    found.update({alias: Lookup(None, UNAVAILABLE) for alias, _ in batch})
                    continue
                for alias, lookup in zip((a for a, _ in batch), pool.map(self._one, batch), strict=True):
                    found[alias] = lookup
                    if lookup.source == BUREAU:
                        self._cache[alias] = lookup.score
        self._save()
        return found

    def _one(self, pair: tuple[str, str]) -> Lookup:
        if self.breaker_open:
            return Lookup(None, UNAVAILABLE)
        self.bucket.take()
        self.calls += 1
        try:
            answer = self.bureau.score(pair[1])
        except PartnerUnavailable:
            self.breaker_open = True
            return Lookup(None, UNAVAILABLE)
        return Lookup(answer.score if answer else None, BUREAU)

    def _save(self) -> None:
        if self.cache_file is not None:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(dict(sorted(self._cache.items())), separators=(",", ":")))
            tmp.replace(self.cache_file)


def band_of(score: int | None, bands: Sequence[tuple[str, int]]) -> str | None:
    """The band whose floor is the highest at or below `score` (bands best first)."""
    if score is None:
        return None
    for band, floor in bands:
        if score >= floor:
            return band
    return bands[-1][0] if bands else None
