"""A token issuer for in-process tests: its own RSA key and JWKS, minting Cognito-shaped access tokens."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.identity.model import Scope
from chalicelib.identity.tokens import TokenVerifier
from chalicelib.settings import RESOURCE_SERVER, IdentitySettings
from devstack.issuer import access_token_claims

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TEST"
AREA_CLIENTS = {"client-credit": "AREA-CREDIT", "client-consortium": "AREA-CONSORTIUM", "client-ghost": "GHOST"}
"""The area registry the tests configure; GHOST is registered here but unknown to the parametrizer."""


class TestIssuer:
    __test__ = False  # not a test class, whatever its name

    def __init__(self, issuer: str = ISSUER, kid: str = "test-key-1") -> None:
        self.issuer = issuer
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwks_fetches = 0

    def jwks(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def fetch(self, url: str) -> Mapping[str, Any]:
        assert url == f"{self.issuer}/.well-known/jwks.json"
        self.jwks_fetches += 1
        return self.jwks()

    def claims(self, client_id: str, scopes: Iterable[Scope | str], ttl: int = 3600) -> dict[str, Any]:
        return access_token_claims(self.issuer, client_id, (f"{RESOURCE_SERVER}/{scope}" for scope in scopes), ttl)

    def token(
        self,
        client_id: str = "client-credit",
        scopes: Iterable[Scope | str] = tuple(Scope),
        headers: Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        claims = {**self.claims(client_id, scopes), **overrides}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})})

    def bearer(self, client_id: str = "client-credit", scopes: Iterable[Scope | str] = tuple(Scope)) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(client_id, scopes)}"}

    def settings(self, area_clients: Mapping[str, str] = AREA_CLIENTS) -> IdentitySettings:
        return IdentitySettings(
            issuers=(self.issuer,),
            area_clients=dict(area_clients),
            resource_server=RESOURCE_SERVER,
            leeway_seconds=30,
            jwks_ttl_seconds=3600,
        )

    def verifier(self, area_clients: Mapping[str, str] = AREA_CLIENTS) -> TokenVerifier:
        return TokenVerifier(self.settings(area_clients), fetch=self.fetch)


class SignedHttp:
    """Chalice's test HTTP client with a bearer token on every request that does not set its own."""

    def __init__(self, http: Any, headers: Mapping[str, str]) -> None:
        self._http = http
        self._headers = dict(headers)

    def request(self, method: str, path: str, headers: Mapping[str, str] | None = None, body: Any = b"") -> Any:
        return self._http.request(method, path, headers={**self._headers, **(headers or {})}, body=body)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


class SignedClient:
    """What tests use as `client`: `.http` signed as one area's system, `.lambda_` as Chalice's."""

    def __init__(self, client: Any, headers: Mapping[str, str]) -> None:
        self.http = SignedHttp(client.http, headers)
        self.lambda_ = client.lambda_
        self.events = client.events
        self.unsigned = client.http


@functools.cache
def test_issuer() -> TestIssuer:
    """One key per test session (RSA key generation costs tens of ms)."""
    return TestIssuer()


@contextlib.contextmanager
def signed(
    chalice_module: ModuleType, client_id: str = "client-credit", scopes: Iterable[Scope | str] = tuple(Scope)
) -> Iterator[SignedClient]:
    """Chalice's test client, calling as `client_id` (AREA-CREDIT's system by default, every scope)."""
    from chalice.test import Client

    with Client(chalice_module.app) as client:
        yield SignedClient(client, test_issuer().bearer(client_id, scopes))
