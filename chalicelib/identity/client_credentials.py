"""How an area system gets an access token: one OAuth 2.0 client-credentials grant, as Cognito answers it.

Used by whoever calls the API from outside it: the DR drill against AWS, and the local stack's scripts
and tests (devstack/tokens.py). The API itself only verifies tokens (tokens.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

REFRESH_BEFORE_EXPIRY_SECONDS = 60.0
"""A cached token is replaced this long before it expires, so none reaches the API stale."""


class TokenRequestFailed(RuntimeError):
    """The token endpoint refused or did not answer; the message has its error code, never the secret."""


def request_token(
    token_url: str, client_id: str, client_secret: str, scopes: Iterable[str] | None = None, timeout: float = 5.0
) -> tuple[str, float]:
    """One client-credentials grant (HTTP Basic, as Cognito's examples do): (access token, seconds it lives)."""
    form = {"grant_type": "client_credentials"}
    if scopes is not None:
        form["scope"] = " ".join(scopes)
    try:
        answer = requests.post(token_url, data=form, auth=(client_id, client_secret), timeout=timeout)
    except requests.RequestException as exc:
        raise TokenRequestFailed(f"{token_url}: no answer ({type(exc).__name__})") from None
    body = _json(answer)
    if answer.status_code != 200 or not isinstance(body.get("access_token"), str):
        raise TokenRequestFailed(f"{token_url}: {answer.status_code} {body.get('error', 'unexpected answer')}")
    return body["access_token"], float(body.get("expires_in", 3600))


def _json(answer: requests.Response) -> Mapping[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@dataclass
class ClientCredentials:
    """One client of one token endpoint, its token reused until shortly before it expires."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    monotonic: Callable[[], float] = time.monotonic
    grant: Callable[[str, str, str], tuple[str, float]] = request_token
    _token: tuple[str, float] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def token(self) -> str:
        with self._lock:
            if self._token is not None and self._token[1] - self.monotonic() > REFRESH_BEFORE_EXPIRY_SECONDS:
                return self._token[0]
            token, lifetime = self.grant(self.token_url, self.client_id, self.client_secret)
            self._token = (token, self.monotonic() + lifetime)
            return token
