"""A stand-in for the urllib3 pool the partner adapters send through: routes by method and URL, records calls.

Only what `PartnerClient` uses: `request(method, url, fields=..., json=...)` answering an object with
`status` and `data`. A route answers a fixed status and body, or calls back with the request.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3


@dataclass(frozen=True)
class SentRequest:
    method: str
    url: str
    body: bytes | None


@dataclass(frozen=True)
class Call:
    request: SentRequest


Callback = Callable[[SentRequest], tuple[int, dict[str, str], str]]


class FakePool:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Callback]] = []
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def add(self, method: str, url: str, status: int = 200, json_body: Any = None, body: str | None = None) -> None:
        text = body if body is not None else json.dumps(json_body if json_body is not None else {})
        self.add_callback(method, re.compile(re.escape(url) + "$"), lambda _: (status, {}, text))

    def add_callback(self, method: str, url: str | re.Pattern[str], callback: Callback) -> None:
        pattern = re.compile(re.escape(url)) if isinstance(url, str) else url
        self._routes.append((method, pattern, callback))

    def request(
        self, method: str, url: str, fields: dict[str, str] | None = None, json: Any = None, **_: Any
    ) -> urllib3.BaseHTTPResponse:
        if fields:
            url = f"{url}?{urlencode(fields)}"
        body = _dumps(json) if json is not None else None
        sent = SentRequest(method, url, body)
        with self._lock:
            self.calls.append(Call(sent))
        for route_method, pattern, callback in self._routes:
            if route_method == method and pattern.fullmatch(url):
                status, _headers, text = callback(sent)
                return urllib3.HTTPResponse(body=text.encode(), status=status, preload_content=True)
        raise urllib3.exceptions.NewConnectionError(None, f"no route for {method} {url}")  # type: ignore[arg-type]

    def as_pool(self) -> urllib3.PoolManager:
        return self  # type: ignore[return-value]


class SwitchedPool:
    """A pool to build clients with once; each `mocked()` block routes it to a fresh FakePool."""

    def __init__(self) -> None:
        self._current: FakePool | None = None

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        assert self._current is not None, "a call outside mocked()"
        return self._current.request(method, url, **kwargs)

    @contextmanager
    def mocked(self) -> Iterator[FakePool]:
        self._current = FakePool()
        try:
            yield self._current
        finally:
            self._current = None

    def as_pool(self) -> urllib3.PoolManager:
        return self  # type: ignore[return-value]


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload).encode()
