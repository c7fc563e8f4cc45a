"""A fault-injecting proxy in front of the partner simulator, for the worker only: some calls answer 503,
some hang past the client's read timeout, the rest are forwarded. Seeded, so a run can be repeated."""

from __future__ import annotations

import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from devstack import jsonhttp

DROPPED = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a worker killed mid-call, or a client that gave up on a hang


class PartnerFaults:
    def __init__(self, upstream: str, error_rate: float, hang_rate: float, hang_seconds: float, seed: int) -> None:
        self.upstream = upstream.rstrip("/")
        self.error_rate = error_rate
        self.hang_rate = hang_rate
        self.hang_seconds = hang_seconds
        self.counts = {"forwarded": 0, "5xx": 0, "hang": 0}
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server = QuietServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> PartnerFaults:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _fault(self) -> str:
        with self._lock:
            draw = self._random.random()
            fault = "5xx" if draw < self.error_rate else "hang" if draw < self.error_rate + self.hang_rate else ""
            self.counts[fault or "forwarded"] += 1
            return fault

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self
        local = threading.local()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy._fault()
                if fault == "hang":
                    time.sleep(proxy.hang_seconds)
                if fault == "5xx":
                    jsonhttp.send(self, 503, {"message": "injected: partner unavailable"})
                    return
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in DROPPED | {"host"}}
                try:
                    upstream = local.session.request(
                        self.command, proxy.upstream + self.path, data=body, headers=headers, timeout=30
                    )
                except requests.RequestException:
                    jsonhttp.send(self, 502, {"message": "the simulator did not answer"})
                    return
                kept = {k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED}
                try:
                    jsonhttp.send(self, upstream.status_code, upstream.content, kept)
                except OSError:
                    return  # the client gave up (a hang past its timeout)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
