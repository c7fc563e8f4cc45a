"""HTTP+JSON adapters for the partner services (parametrizer, domains, powers, people, operators).

Contract: 404 is an answer (None); 5xx, timeouts, connection errors and unreadable bodies
are `PartnerUnavailable`, which the caller treats as transient. Each call goes through its partner's
`Resilience` (breaker, the one retry layer, metrics) and its in-flight cap (the bulkhead).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import requests
import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from chalicelib import correlation, telemetry
from chalicelib.adapters.resilience import PartnerCallFailed, Resilience, ResilienceSettings
from chalicelib.documents import Cpf, InvalidDocument
from chalicelib.errors import PartnerUnavailable
from chalicelib.orders.model import AreaSettings, DomainEntry
from chalicelib.orders.ports import (
    DomainCatalog,
    OperatorRegistry,
    Parametrizer,
    PeopleDirectory,
    PowersDirectory,
    TrafficProbe,
)
from chalicelib.quorum.model import (
    Clause,
    Contact,
    GroupingRule,
    OperatorAccess,
    PowerGrant,
    Representative,
    Reservation,
)
from chalicelib.settings import REGION_HEADER

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HttpSettings:
    connect_timeout: float = 1.0
    read_timeout: float = 2.0
    pool_size: int = 16
    max_in_flight: int = 8
    """The bulkhead: most calls one partner has in flight from this process; more wait their turn."""
    resilience: ResilienceSettings = field(default_factory=ResilienceSettings)
    """Each partner's breaker and its retries (the one retry layer)."""


def new_pool(settings: HttpSettings) -> urllib3.PoolManager:
    """One connection pool per process for every partner call: urllib3 directly, about a third of
    `requests`' client CPU per call (`python -m bench.envelope_http_client`). It retries nothing
    (`retries=False`): retries are `Resilience`'s alone, so one failing call is never retried by two layers."""
    return urllib3.PoolManager(
        num_pools=8,
        maxsize=settings.pool_size,
        retries=False,
        timeout=urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout),
    )


class PartnerClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        pool: urllib3.PoolManager,
        settings: HttpSettings,
        resilience: Resilience | None = None,
    ) -> None:
        self.name = name
        self._base_url = base_url.rstrip("/")
        self._pool = pool
        self._in_flight = threading.BoundedSemaphore(max(1, settings.max_in_flight))
        self.resilience = resilience or Resilience(name, settings.resilience)

    def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        return self._answer(
            lambda: self._pool.request("GET", self._base_url + path, fields=params, headers=correlation.headers()),
            absent=(404,),
        )

    def post_json(self, path: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """A batch call: None when the partner has no such route (404, 405 or 501); otherwise as `get_json`."""
        return self._answer(
            lambda: self._pool.request("POST", self._base_url + path, json=payload, headers=correlation.headers()),
            absent=(404, 405, 501),
        )

    def _answer(self, send: Callable[[], urllib3.BaseHTTPResponse], absent: tuple[int, ...]) -> dict[str, Any] | None:
        """Through the partner's breaker and retry policy: None for an `absent` status, the JSON object on
        200; anything else (no answer, another status, not a JSON object) is the partner being unavailable."""
        return self.resilience.call(lambda: self._attempt(send, absent))

    def _attempt(self, send: Callable[[], urllib3.BaseHTTPResponse], absent: tuple[int, ...]) -> dict[str, Any] | None:
        """One HTTP call within the partner's in-flight cap (the bulkhead), measured and classified."""
        with self._in_flight:
            started = time.perf_counter()
            try:
                response = send()
            except HTTPError as exc:
                timed_out = isinstance(exc, Urllib3Timeout) and not isinstance(exc, NewConnectionError)
                raise self._failed(type(exc).__name__, "timeout" if timed_out else "connection") from exc
            finally:
                telemetry.observe_ms("PartnerLatency", (time.perf_counter() - started) * 1000, partner=self.name)
        if response.status in absent:
            return None
        if response.status != 200:
            raise self._failed(f"HTTP {response.status}", "5xx" if response.status >= 500 else "bad_answer")
        try:
            body = json.loads(response.data)
        except ValueError as exc:
            raise self._failed("unreadable JSON", "bad_answer") from exc
        if not isinstance(body, dict):
            raise self._failed("unexpected JSON shape", "bad_answer")
        return body

    def _failed(self, detail: str, kind: str) -> PartnerCallFailed:
        telemetry.count("PartnerErrors", partner=self.name, kind=kind)
        return PartnerCallFailed(self.name, detail, kind)


BATCH_LIMIT = 100
"""Most CPFs one batch call names (the partner contract's limit)."""


class BatchRoute:
    """Whether a partner has its batch route; a partner that answered it has none is asked per person
    for `forget_after` seconds, then the batch route is tried again."""

    def __init__(self, forget_after: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._forget_after = forget_after
        self._clock = clock
        self._missing_since: float | None = None
        self._lock = threading.Lock()

    def usable(self) -> bool:
        with self._lock:
            return self._missing_since is None or self._clock() - self._missing_since >= self._forget_after

    def missing(self) -> None:
        with self._lock:
            self._missing_since = self._clock()


def chunks(items: Sequence[str], size: int = BATCH_LIMIT) -> list[list[str]]:
    unique = list(dict.fromkeys(items))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


def _batched(
    route: BatchRoute,
    cpfs: Sequence[str],
    executor: Executor,
    batch: Callable[[list[str]], dict[str, Any] | None],
    per_person: Callable[[Sequence[str]], Callable[[], dict[str, Any]]],
) -> Callable[[], dict[str, Any]]:
    """Chunks of BATCH_LIMIT in parallel; chunks the partner has no batch route for go per person."""
    if not route.usable():
        return per_person(cpfs)
    started: list[tuple[list[str], Future[dict[str, Any] | None]]] = [
        (chunk, executor.submit(batch, chunk)) for chunk in chunks(cpfs)
    ]

    def collect() -> dict[str, Any]:
        found: dict[str, Any] = {}
        unanswered: list[str] = []
        for chunk, future in started:
            answer = future.result()
            if answer is None:
                unanswered.extend(chunk)
            else:
                found.update(answer)
        if unanswered:
            route.missing()
            found.update(per_person(unanswered)())
        return found

    return collect


class OverHttp:
    """Base of every partner adapter: one PartnerClient, already configured."""

    def __init__(self, client: PartnerClient) -> None:
        self._client = client


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _strings(value: Any) -> frozenset[str] | None:
    return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else None


class HttpParametrizer(OverHttp, Parametrizer):
    def area(self, area_id: str) -> AreaSettings | None:
        body = self._client.get_json(f"/areas/{quote(area_id, safe='')}")
        if body is None:
            return None
        return AreaSettings(
            area_id=str(body.get("area_id", area_id)),
            active=body.get("active") is True,
            platforms=_strings(body.get("platforms")) or frozenset(),
            signature_methods=_strings(body.get("signature_methods")) or frozenset(),
            max_amount=_decimal(body.get("max_amount")),
        )


class HttpDomainCatalog(OverHttp, DomainCatalog):
    def entry(self, domain: str, key: str) -> DomainEntry | None:
        body = self._client.get_json(f"/domains/{quote(domain, safe='')}/{quote(key, safe='')}")
        if body is None:
            return None
        return DomainEntry(domain, key, str(body.get("name", "")), body.get("active") is True)


class HttpPowersDirectory(OverHttp, PowersDirectory):
    def grant(self, cnpj: str, power_code: str) -> PowerGrant | None:
        body = self._client.get_json(f"/companies/{cnpj}/powers/{quote(power_code, safe='')}")
        if body is None:
            return None
        representatives = tuple(r for r in map(_representative, body.get("representatives") or []) if r)
        rules = tuple(r for r in map(_rule, body.get("rules") or []) if r)
        return PowerGrant(representatives, rules)


def _representative(raw: Any) -> Representative | None:
    """A record with an unreadable CPF can never be matched to an operator: skip it, loudly."""
    if not isinstance(raw, dict):
        return None
    try:
        cpf = Cpf.parse(raw.get("cpf", "")).digits
    except InvalidDocument:
        log.warning("powers returned a representative with an invalid CPF; skipped")
        return None
    reservations = tuple(_reservation(r) for r in raw.get("reservations") or [])
    return Representative(cpf, str(raw.get("group", "")), reservations)


def _reservation(raw: Any) -> Reservation:
    """Unreadable parameters stay None, which the engine treats as blocking."""
    if not isinstance(raw, dict):
        return Reservation(type="MALFORMED")
    return Reservation(
        type=str(raw.get("type", "MALFORMED")),
        max_amount=_decimal(raw.get("max_amount")),
        valid_until=_date(raw.get("valid_until")),
        allowed_methods=_strings(raw.get("allowed_methods")),
    )


def _rule(raw: Any) -> GroupingRule | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("clauses"), list):
        return None
    clauses: list[Clause] = []
    for clause in raw["clauses"]:
        if not isinstance(clause, dict):
            return None
        minimum = clause.get("min", 1)
        if not isinstance(minimum, int) or minimum < 1:
            return None
        cpf = clause.get("cpf")
        group = clause.get("group")
        if cpf is not None:
            try:
                cpf = Cpf.parse(str(cpf)).digits
            except InvalidDocument:
                return None  # a rule naming an impossible person can never be met
        clauses.append(Clause(min=minimum, group=str(group) if group is not None else None, cpf=cpf))
    raw_limit = raw.get("max_amount")
    limit = _decimal(raw_limit)
    if raw_limit is not None and limit is None:
        return None  # an unreadable ceiling must not become "no ceiling"
    return GroupingRule(str(raw.get("rule_id", "")), tuple(clauses), limit)


def _found(body: dict[str, Any], key: str, partner: str) -> dict[str, Any]:
    found = body.get(key)
    if not isinstance(found, dict):
        raise PartnerUnavailable(partner, "unexpected JSON shape")
    return found


def _contact(body: Any) -> Contact | None:
    if not isinstance(body, dict):
        return None
    return Contact(name=body.get("name"), email=body.get("email"), phone=body.get("phone"))


def _access(body: Any) -> OperatorAccess | None:
    if not isinstance(body, dict):
        return None
    return OperatorAccess(body.get("operator_active") is True, body.get("account_access") is True)


class HttpPeopleDirectory(OverHttp, PeopleDirectory):
    def __init__(self, client: PartnerClient, batch_route: BatchRoute | None = None) -> None:
        super().__init__(client)
        self._batch_route = batch_route or BatchRoute()

    def contact(self, cpf: str) -> Contact | None:
        return _contact(self._client.get_json(f"/people/{cpf}"))

    def contacts_of(self, cpfs: Sequence[str], executor: Executor) -> Callable[[], dict[str, Contact | None]]:
        def per_person(some: Sequence[str]) -> Callable[[], dict[str, Contact | None]]:
            return PeopleDirectory.contacts_of(self, some, executor)

        return _batched(self._batch_route, cpfs, executor, self._batch, per_person)

    def _batch(self, cpfs: list[str]) -> dict[str, Contact | None] | None:
        body = self._client.post_json("/people/batch", {"cpfs": cpfs})
        if body is None:
            return None
        found = _found(body, "people", self._client.name)
        return {cpf: _contact(found.get(cpf)) for cpf in cpfs}


class HttpOperatorRegistry(OverHttp, OperatorRegistry):
    def __init__(self, client: PartnerClient, batch_route: BatchRoute | None = None) -> None:
        super().__init__(client)
        self._batch_route = batch_route or BatchRoute()

    def access(self, holder: str, cpf: str, platform: str) -> OperatorAccess | None:
        return _access(self._client.get_json(f"/holders/{holder}/operators/{cpf}", params={"platform": platform}))

    def accesses_of(
        self, holder: str, cpfs: Sequence[str], platform: str, executor: Executor
    ) -> Callable[[], dict[str, OperatorAccess | None]]:
        def per_person(some: Sequence[str]) -> Callable[[], dict[str, OperatorAccess | None]]:
            return OperatorRegistry.accesses_of(self, holder, some, platform, executor)

        def batch(chunk: list[str]) -> dict[str, OperatorAccess | None] | None:
            body = self._client.post_json(f"/holders/{holder}/operators/batch", {"platform": platform, "cpfs": chunk})
            if body is None:
                return None
            found = _found(body, "operators", self._client.name)
            return {cpf: _access(found.get(cpf)) for cpf in chunk}

        return _batched(self._batch_route, cpfs, executor, batch, per_person)


class HttpTrafficProbe(TrafficProbe):
    """Asks the public API name who is serving: the answer's `X-Ame-Region` (Route 53 chose it)."""

    def __init__(self, session: requests.Session, public_url: str, timeout: float = 3.0) -> None:
        self._session = session
        self._url = public_url.rstrip("/") + "/v1/health"
        self._timeout = timeout

    def serving_region(self) -> str | None:
        try:
            return self._session.get(self._url, timeout=self._timeout).headers.get(REGION_HEADER)
        except requests.RequestException:
            return None
