"""The standby's probe of the primary's regional `/v1/health`: one GET, a short timeout, no retries.

A retry is the next probe's job (`chalicelib.takeover`), and a pooled session that retries 503s would
hide exactly the answer the standby is asking for.
"""

from __future__ import annotations

from typing import Any

import requests

from chalicelib.takeover import PeerHealth


class HttpPeerHealth(PeerHealth):
    def __init__(self, url: str, timeout_seconds: float, session: requests.Session | None = None) -> None:
        self._url = url
        self._timeout = timeout_seconds
        self._session = session or requests.Session()

    def failure(self) -> str | None:
        try:
            response = self._session.get(self._url, timeout=self._timeout, allow_redirects=False)
        except requests.RequestException as exc:
            return type(exc).__name__
        if response.status_code == 200:
            return None
        code = _error_code(response)
        return f"{response.status_code} {code}" if code else str(response.status_code)


def _error_code(response: requests.Response) -> str | None:
    """The documented error shape's `code` (REGION_FENCED, SERVICE_UNAVAILABLE), never its message."""
    try:
        body: Any = response.json()
    except ValueError:
        return None
    code = body.get("error", {}).get("code") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
    return code if isinstance(code, str) and code.isupper() and len(code) <= 40 else None
