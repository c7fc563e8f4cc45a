"""Answers given before any route runs — by the gatekeeper in the app, by API Gateway's gateway
responses in AWS, and by the local gateway under `chalice local` — defined once so all three agree."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GatewayAnswer:
    status: int
    code: str
    message: str

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}

    def body_text(self) -> str:
        """The exact JSON text, for API Gateway's response templates."""
        return json.dumps(self.body(), separators=(",", ":"))


ROUTE_NOT_FOUND = GatewayAnswer(404, "ROUTE_NOT_FOUND", "no route matches this method and path; see /v1/openapi.json")
UNSUPPORTED_MEDIA_TYPE = GatewayAnswer(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as Content-Type: application/json")
UNAUTHENTICATED = GatewayAnswer(401, "UNAUTHENTICATED", "a valid bearer token is required")
FORBIDDEN = GatewayAnswer(403, "FORBIDDEN", "the token does not grant this operation")
THROTTLED = GatewayAnswer(429, "THROTTLED", "too many requests; retry later")

WWW_AUTHENTICATE = 'Bearer realm="ame-platform"'
"""Sent with every 401; never says which check failed (RFC 6750 allows omitting the error)."""
