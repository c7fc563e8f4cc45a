"""A fault-injecting proxy in front of the partner simulator, for the worker only: some calls answer 503,
some hang past the client's read timeout, the rest are forwarded. Seeded, so a run can be repeated."""

from __future__ import annotations

import random
import threading
import time
from http.server import BaseHTTPRequestHandler

from devstack import jsonhttp
from devstack.faults import ForwardingProxy


class PartnerFaults(ForwardingProxy):
    upstream_name = "the simulator"
    timeout_seconds = 30.0

    def __init__(self, upstream: str, error_rate: float, hang_rate: float, hang_seconds: float, seed: int) -> None:
        super().__init__(upstream)
        self.error_rate = error_rate
        self.hang_rate = hang_rate
        self.hang_seconds = hang_seconds
        self.counts = {"forwarded": 0, "5xx": 0, "hang": 0}
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def __enter__(self) -> PartnerFaults:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def intercept(self, request: BaseHTTPRequestHandler) -> bool:
        """503 on `error_rate` of calls; on `hang_rate` a wait of `hang_seconds` (past the client's read
        timeout), then forwarded to a client that is no longer there."""
        fault = self._fault()
        if fault == "hang":
            time.sleep(self.hang_seconds)
        if fault == "5xx":
            jsonhttp.send(request, 503, {"message": "injected: partner unavailable"})
            return True
        return False

    def _fault(self) -> str:
        with self._lock:
            draw = self._random.random()
            fault = "5xx" if draw < self.error_rate else "hang" if draw < self.error_rate + self.hang_rate else ""
            self.counts[fault or "forwarded"] += 1
            return fault
