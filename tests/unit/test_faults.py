"""The drill's fault proxy: transparent until DynamoDB is impaired, then only DynamoDB calls fail."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from devstack.faults import FaultProxy


@pytest.fixture
def upstream() -> Iterator[list[dict[str, Any]]]:
    """A stand-in AWS endpoint that echoes what reached it."""
    seen: list[dict[str, Any]] = []

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append({"host": self.headers["Host"], "target": self.headers.get("X-Amz-Target"), "body": body})
            payload = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen.append({"url": f"http://127.0.0.1:{server.server_address[1]}"})
    yield seen
    server.shutdown()
    server.server_close()


def call(proxy: FaultProxy, target: str) -> requests.Response:
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}
    return requests.post(proxy.url + "/", data=b"{}", headers=headers, timeout=5)


def test_only_dynamodb_fails_while_impaired_and_everything_passes_through_otherwise(
    upstream: list[dict[str, Any]],
) -> None:
    proxy = FaultProxy(upstream.pop(0)["url"], "us-east-1").start()
    try:
        # GIVEN the proxy in front of the endpoint: calls pass through with their Host header (it is signed)
        assert call(proxy, "DynamoDB_20120810.GetItem").json() == {"ok": True}
        assert upstream[-1]["host"] == proxy.url.removeprefix("http://") and upstream[-1]["body"] == b"{}"
        # WHEN DynamoDB is impaired THEN its calls answer 500 InternalServerError and never reach the endpoint
        proxy.impair("dynamodb")
        reached = len(upstream)
        failed = call(proxy, "DynamoDB_20120810.TransactWriteItems")
        assert failed.status_code == 500 and failed.json()["__type"].endswith("#InternalServerError")
        assert len(upstream) == reached
        # AND SQS and DynamoDB Streams still pass
        assert call(proxy, "AmazonSQS.GetQueueAttributes").status_code == 200
        assert call(proxy, "DynamoDBStreams_20120810.GetRecords").status_code == 200
        # WHEN it is restored THEN DynamoDB answers again
        proxy.restore("dynamodb")
        assert call(proxy, "DynamoDB_20120810.GetItem").status_code == 200
    finally:
        proxy.close()
