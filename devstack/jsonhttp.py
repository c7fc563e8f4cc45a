"""One way for the local stand-ins' tiny HTTP servers to answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any


def send(handler: BaseHTTPRequestHandler, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
    """Writes `body` (JSON-encoded unless already bytes) with its length and the given headers."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler.send_response(status)
    headers = dict(headers or {})
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)
