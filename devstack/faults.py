"""A fault-injecting proxy in front of the local AWS endpoint: how a drill impairs one region's DynamoDB.

moto is one server for every region, so a region's DynamoDB cannot be stopped on its own. The
primary region's processes (API, worker) reach the endpoint through this proxy instead; while
`dynamodb` is impaired it answers every DynamoDB call (`X-Amz-Target: DynamoDB_20120810.*`) with
500 InternalServerError, as a regional DynamoDB event does, and forwards everything else (SQS,
CloudWatch, SSM) untouched, headers included (the Host header is part of a request's signature).
It runs as a thread of the process that holds the stack (the drill, `make run-dr`); production
code never sees it, only an endpoint URL.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import requests

from devstack import jsonhttp

log = logging.getLogger("ame.faults")
DYNAMODB_TARGET = "DynamoDB_20120810."
"""The JSON protocol's operation prefix (Streams use `DynamoDBStreams_`: the replicator reads moto directly)."""
DROPPED = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}
IMPAIRED_ANSWER = {
    "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
    "message": "Internal server error (injected: DynamoDB is impaired in this region)",
}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (a drill or soak kills workers) is not the proxy's error."""
        log.debug("a client of a fault proxy went away")


class ForwardingProxy:
    """Forwards every request to `upstream`, headers included (the Host header is part of a request's
    signature), unless `intercept` answers it first: the one place a local fault is injected."""

    upstream_name = "the upstream"
    timeout_seconds = 60.0

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._server = QuietServer(("127.0.0.1", 0), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def intercept(self, request: BaseHTTPRequestHandler) -> bool:
        """Answers `request` itself (True) or lets it through (False)."""
        return False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self
        local = threading.local()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def do_PUT(self) -> None:
                self._forward()

            def do_DELETE(self) -> None:
                self._forward()

            def do_HEAD(self) -> None:
                self._forward()

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy.intercept(self):
                    return
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in DROPPED}
                try:
                    upstream = local.session.request(
                        self.command,
                        proxy.upstream + self.path,
                        data=body,
                        headers=headers,
                        timeout=proxy.timeout_seconds,
                    )
                except requests.RequestException:
                    jsonhttp.send(self, 502, {"message": f"{proxy.upstream_name} did not answer"})
                    return
                kept = {k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED}
                try:
                    jsonhttp.send(self, upstream.status_code, upstream.content, kept)
                except OSError:
                    return  # the client gave up (a hang past its timeout)

            def log_message(self, format: str, *args: Any) -> None:
                return  # one line per call would drown the drill's and the soak's own

        return Handler


class FaultProxy(ForwardingProxy):
    upstream_name = "the local AWS endpoint"

    def __init__(self, upstream: str, region: str) -> None:
        super().__init__(upstream)
        self.region = region
        self.impaired: set[str] = set()

    def impair(self, service: str) -> None:
        log.warning("fault: %s impaired in %s", service, self.region)
        self.impaired.add(service)

    def restore(self, service: str) -> None:
        log.warning("fault: %s restored in %s", service, self.region)
        self.impaired.discard(service)

    def intercept(self, request: BaseHTTPRequestHandler) -> bool:
        target = request.headers.get("X-Amz-Target", "")
        if "dynamodb" in self.impaired and target.startswith(DYNAMODB_TARGET):
            answer = json.dumps(IMPAIRED_ANSWER).encode()
            jsonhttp.send(request, 500, answer, {"Content-Type": "application/x-amz-json-1.0"})
            return True
        return False
