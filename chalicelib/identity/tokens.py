"""Verifies an area system's access token (a Cognito client-credentials JWT) into a `Caller`.

The same code runs under `chalice local`, the local stack and Lambda; only the trusted issuers
differ (`AME_TOKEN_ISSUERS`). Every refusal is a `TokenRejected` whose reason goes to our logs,
never to the caller (who learns only "a valid bearer token is required").
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from chalicelib.identity.model import Caller, Scope, TokenRejected
from chalicelib.settings import IdentitySettings

ALLOWED_ALGORITHMS = ("RS256",)
"""Cognito signs with RS256; `none`, HMAC (`HS256` keyed with a public key) and anything else are refused."""
MAX_TOKEN_BYTES = 8 * 1024
JWKS_TIMEOUT_SECONDS = 2.0
MIN_REFRESH_INTERVAL_SECONDS = 30.0
"""An unknown `kid` refetches the JWKS (the issuer rotated its keys), and an unreachable issuer is tried
again, at most this often: a flood of forged kids must not become a flood of requests to the issuer, and
while the peer region's pool is down its tokens are refused at once instead of after a timeout each."""

KEYS_BY_SCOPE = {scope.value: scope for scope in Scope}


JwksFetcher = Callable[[str], Mapping[str, Any]]


def fetch_jwks(url: str) -> Mapping[str, Any]:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise TokenRejected("JWKS must be fetched over https (or from this machine)")
    with urllib.request.urlopen(url, timeout=JWKS_TIMEOUT_SECONDS) as answer:  # noqa: S310 (scheme checked above)
        document: Mapping[str, Any] = json.loads(answer.read(256 * 1024))
    return document


@dataclass
class IssuerKeys:
    """One issuer's signing keys by `kid`, cached for `ttl` seconds and refreshed on an unknown kid."""

    jwks_url: str
    ttl: float
    fetch: JwksFetcher
    monotonic: Callable[[], float] = time.monotonic
    _keys: dict[str, Any] = field(default_factory=dict)
    _fetched_at: float | None = None
    _failed_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, kid: str) -> Any:
        with self._lock:
            now = self.monotonic()
            last_try = max(self._fetched_at or -math.inf, self._failed_at or -math.inf)
            may_refresh = now - last_try > MIN_REFRESH_INTERVAL_SECONDS
            stale = self._fetched_at is None or now - self._fetched_at > self.ttl
            if may_refresh and (stale or kid not in self._keys):
                self._refresh(now)
            if kid not in self._keys:
                raise TokenRejected(f"unknown signing key {kid[:40]!r}")
            return self._keys[kid]

    def _refresh(self, now: float) -> None:
        try:
            document = self.fetch(self.jwks_url)
            keys = jwt.PyJWKSet.from_dict(dict(document)).keys
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            self._failed_at = now  # an unreachable issuer (the other region, down) is not asked again at once
            if not self._keys:
                raise TokenRejected(f"could not read the issuer's keys: {type(exc).__name__}") from None
            return  # keep verifying with the keys we have; the issuer may be briefly unreachable
        self._keys = {k.key_id: k.key for k in keys if k.key_id and k.public_key_use in (None, "sig")}
        self._fetched_at = now


@dataclass
class TokenVerifier:
    settings: IdentitySettings
    fetch: JwksFetcher = fetch_jwks
    _issuers: dict[str, IssuerKeys] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._issuers = {
            issuer: IssuerKeys(f"{issuer}/.well-known/jwks.json", self.settings.jwks_ttl_seconds, self.fetch)
            for issuer in self.settings.issuers
        }

    def verify(self, authorization: str | None) -> Caller:
        """From an `Authorization` header value to the calling area system, or TokenRejected."""
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"malformed token: {type(exc).__name__}") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise TokenRejected(f"algorithm {str(header.get('alg'))[:20]!r} is not allowed")
        if not isinstance(issuer, str) or issuer not in self._issuers:
            raise TokenRejected("untrusted issuer")
        keys = self._issuers[issuer]
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise TokenRejected("token names no signing key")
        claims = self._decode(token, keys.key(kid), issuer)
        return self._caller(claims)

    def _decode(self, token: str, key: Any, issuer: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALLOWED_ALGORITHMS),
                issuer=issuer,
                leeway=self.settings.leeway_seconds,
                # Cognito access tokens carry `client_id`, not `aud`; the client is checked below.
                options={"require": ["exp", "iat", "iss", "client_id", "token_use"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"invalid token: {type(exc).__name__}") from None
        return claims

    def _caller(self, claims: Mapping[str, Any]) -> Caller:
        if claims.get("token_use") != "access":
            raise TokenRejected("not an access token")
        client_id = claims.get("client_id")
        if not isinstance(client_id, str) or client_id not in self.settings.area_clients:
            raise TokenRejected("client is not in the area registry")
        area_id = self.settings.area_clients[client_id]
        audience = claims.get("aud")
        if audience is not None and audience != client_id:
            raise TokenRejected("token was issued for another audience")
        return Caller(client_id, area_id, self._scopes(claims.get("scope")))

    def _scopes(self, raw: object) -> frozenset[Scope]:
        if not isinstance(raw, str):
            return frozenset()
        prefix = f"{self.settings.resource_server}/"
        names = (item.removeprefix(prefix) for item in raw.split() if item.startswith(prefix))
        return frozenset(KEYS_BY_SCOPE[name] for name in names if name in KEYS_BY_SCOPE)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise TokenRejected("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenRejected("not a bearer token")
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenRejected("token too large")
    return token
