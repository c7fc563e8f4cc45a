"""Steady canary traffic through the public endpoint: a write, then a read of what was written.

Orders and credit decisions alternate. A write counts as acknowledged when the API answers
202/201; the time of that answer (UTC, and `perf_counter` for durations) is what RPO and the
replication figure are measured from.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from chalicelib.settings import REGION_HEADER
from drill.model import Canary, Request

ORDER_AMOUNT = "1000.00"


@dataclass(frozen=True)
class CanarySubjects:
    """The bodies the canary posts, about entities the target's partners know (each target says which)."""

    order: dict[str, Any]
    decision: dict[str, Any]


def decision_body(cpf: str) -> dict[str, Any]:
    return {
        "cpf": cpf,
        "amount": "5000.00",
        "term_months": 12,
        "product": "PERSONAL_LOAN",
        "monthly_income": "9000.00",
        "existing_debts": "0.00",
    }


@dataclass(frozen=True)
class Answer:
    """A response, when its request left (`perf_counter`) and when it arrived (UTC and `perf_counter`)."""

    response: requests.Response
    at: datetime
    sent_clock: float
    clock: float


Headers = Callable[[], Mapping[str, str]]
"""What every canary request carries, asked for per request (a bearer token, renewed before it expires)."""


class CanaryTraffic:
    def __init__(
        self,
        public_url: str,
        run_id: str,
        subjects: CanarySubjects,
        interval: float = 0.1,
        timeout: float = 3.0,
        headers: Headers = dict,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.run_id = run_id
        self.subjects = subjects
        self.interval = interval
        self.timeout = timeout
        self.headers = headers
        self.canaries: list[Canary] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self._sequence = 0

    def start(self) -> CanaryTraffic:
        self._thread = threading.Thread(target=self._run, name="canary", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout * 3)

    def acknowledged(self) -> list[Canary]:
        with self._lock:
            return list(self.canaries)

    def history(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def served_since(self, since: datetime, region: str) -> datetime | None:
        """When a write and the read of it, both served by `region`, first succeeded after `since`."""
        history = self.history()
        for index, request in enumerate(history):
            if request.op != "write" or not request.ok or request.region != region or request.at < since:
                continue
            follow = history[index + 1] if index + 1 < len(history) else None
            if follow is not None and follow.op == "read" and follow.ok and follow.region == region:
                return follow.at
        return None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.write_and_read()
            self._stop.wait(self.interval)

    def write_and_read(self) -> Canary | None:
        canary = self.write()
        if canary is not None:
            self.read(canary)
        return canary

    def write(self) -> Canary | None:
        """The next canary write: the acknowledged canary, or None when the API did not acknowledge it."""
        self._sequence += 1
        is_order = self._sequence % 2 == 1
        if is_order:
            path, body = "/v1/orders", self.subjects.order
            headers = {"Idempotency-Key": f"drill-{self.run_id}-{self._sequence}"}
        else:
            path, body, headers = "/v1/credit/decisions", self.subjects.decision, {}
        answer = self._call("write", "POST", path, json=body, headers=headers)
        if answer is None or answer.response.status_code not in (201, 202):
            return None
        payload = answer.response.json()
        key = payload["order_key"] if is_order else payload["decision_id"]
        kind = "order" if is_order else "decision"
        canary = Canary(kind, key, answer.at, _region(answer.response) or "?", answer.sent_clock, answer.clock)
        with self._lock:
            self.canaries.append(canary)
        return canary

    def read(self, canary: Canary) -> None:
        path = f"/v1/orders/{canary.key}" if canary.kind == "order" else f"/v1/credit/decisions/{canary.key}"
        self._call("read", "GET", path)

    def _call(
        self, op: str, method: str, path: str, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Answer | None:
        sent_headers = {**self.headers(), **(headers or {})}
        sent = time.perf_counter()
        try:
            response = self._session.request(
                method, self.public_url + path, headers=sent_headers, timeout=self.timeout, **kwargs
            )
        except requests.RequestException:
            self._record(Request(datetime.now(UTC), op, False, None, None))
            return None
        answer = Answer(response, datetime.now(UTC), sent, time.perf_counter())
        self._record(Request(answer.at, op, response.status_code < 300, _region(response), response.status_code))
        return answer

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def _region(response: requests.Response) -> str | None:
    return response.headers.get(REGION_HEADER)
