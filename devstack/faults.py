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
from typing import Any

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
        """A client killed mid-request (the drill kills the primary's worker) is not the proxy's error."""
        log.debug("a client of the fault proxy went away")


class FaultProxy:
    def __init__(self, upstream: str, region: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.region = region
        self.impaired: set[str] = set()
        self._server = QuietServer(("127.0.0.1", 0), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def impair(self, service: str) -> None:
        log.warning("fault: %s impaired in %s", service, self.region)
        self.impaired.add(service)

    def restore(self, service: str) -> None:
        log.warning("fault: %s restored in %s", service, self.region)
        self.impaired.discard(service)

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
                target = self.headers.get("X-Amz-Target", "")
                if "dynamodb" in proxy.impaired and target.startswith(DYNAMODB_TARGET):
                    answer = json.dumps(IMPAIRED_ANSWER).encode()
                    jsonhttp.send(self, 500, answer, {"Content-Type": "application/x-amz-json-1.0"})
                    return
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in DROPPED}
                try:
                    upstream = local.session.request(
                        self.command, proxy.upstream + self.path, data=body, headers=headers, timeout=60
                    )
                except requests.RequestException:
                    jsonhttp.send(self, 502, {"message": "the local AWS endpoint did not answer"})
                    return
                kept = {k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED}
                jsonhttp.send(self, upstream.status_code, upstream.content, kept)

            def log_message(self, format: str, *args: Any) -> None:
                return  # one line per AWS call would drown the drill's own

        return Handler
