"""The local OAuth 2.0 token issuer: client credentials, the way Cognito's token endpoint answers them.

Local stand-in only; in AWS each region's Cognito user pool issues the tokens. It serves
`POST /oauth2/token` (grant_type=client_credentials; client authentication by HTTP Basic or the
form's client_id/client_secret; an optional `scope`, a subset of the client's) and the public key at
`GET /.well-known/jwks.json`. Its tokens are Cognito-shaped access tokens (RS256, `token_use:
access`, scopes prefixed `ame-platform/`), issued by `http://127.0.0.1:<port>`.

The signing key is a LOCAL TEST KEY: generated at the first start, written to `.devstack/issuer/key.pem`
(0600) and reused, so test harnesses in the same checkout can sign edge-case tokens (expired, another
audience) that this issuer would never mint. It protects nothing; never use it anywhere but here.

    python -m devstack.issuer --port 8103 --clients .devstack/clients.json
"""

from __future__ import annotations

import argparse
import base64
import binascii
import functools
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack import jsonhttp
from devstack.tokens import ClientsFileError, LocalClient, LocalClients, full_scope

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KEY = ROOT / ".devstack" / "issuer" / "key.pem"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path, not a password)
JWKS_PATH = "/.well-known/jwks.json"
TOKEN_TTL_SECONDS = 3600
MAX_FORM_BYTES = 16 * 1024

log = logging.getLogger("ame.issuer")


class TokenError(Exception):
    """An OAuth error answer (RFC 6749 §5.2, as Cognito gives it): 400 `{"error": code}`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    """The key at `path`, or a new RSA-2048 key written there (0600) without replacing one another
    process wrote meanwhile: two stacks starting at once end up signing with the same key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        scratch = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
        try:
            os.link(scratch, path)  # fails if another process got there first; then its key wins
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey) or loaded.key_size < 2048:
        raise ValueError(f"{path}: not an RSA private key of at least 2048 bits")
    return loaded


def public_jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The public key as a JWK, its `kid` the RFC 7638 thumbprint (so a new key is a new kid)."""
    numbers = key.public_key().public_numbers()
    members = {"e": _b64uint(numbers.e), "kty": "RSA", "n": _b64uint(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {"alg": "RS256", "e": members["e"], "kid": kid, "kty": "RSA", "n": members["n"], "use": "sig"}


def _b64uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class Issuer:
    """Mints tokens for registered clients; knows nothing about HTTP."""

    url: str
    key: rsa.RSAPrivateKey
    clients: Mapping[str, LocalClient]
    ttl: int = TOKEN_TTL_SECONDS

    @functools.cached_property
    def jwk(self) -> dict[str, str]:
        return public_jwk(self.key)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}

    def grant(self, form: Mapping[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        """The token endpoint's answer to one request, or TokenError."""
        if basic is not None and ("client_id" in form or "client_secret" in form):
            raise TokenError("invalid_request")  # one way to authenticate per request (RFC 6749 §2.3)
        client = self.authenticate(*(basic or (form.get("client_id", ""), form.get("client_secret", ""))))
        grant_type = form.get("grant_type")
        if not grant_type:
            raise TokenError("invalid_request")
        if grant_type != "client_credentials":
            raise TokenError("unsupported_grant_type")
        scopes = self.scopes(client, form.get("scope"))
        log.info("token issued to %s: %s", client.client_id, " ".join(scopes))
        return {"access_token": self.token(client, scopes), "expires_in": self.ttl, "token_type": "Bearer"}

    def authenticate(self, client_id: str, secret: str) -> LocalClient:
        """The client whose secret this is. An unknown client costs the same comparison as a wrong secret."""
        client = self.clients.get(client_id)
        expected = client.client_secret if client is not None else secrets.token_urlsafe(32)
        matches = hmac.compare_digest(secret.encode(), expected.encode())
        if client is None or not matches or not secret:
            raise TokenError("invalid_client")
        return client

    def scopes(self, client: LocalClient, requested: str | None) -> tuple[str, ...]:
        """Every scope the client holds, or the requested ones if it holds them all (full names)."""
        allowed = tuple(full_scope(scope) for scope in client.scopes)
        if requested is None or not requested.strip():
            return allowed
        wanted = tuple(dict.fromkeys(requested.split()))
        if any(scope not in allowed for scope in wanted):
            raise TokenError("invalid_scope")
        return wanted

    def token(self, client: LocalClient, scopes: tuple[str, ...]) -> str:
        claims = access_token_claims(self.url, client.client_id, scopes, self.ttl)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.jwk["kid"], "typ": "JWT"})


def access_token_claims(issuer: str, client_id: str, scopes: Iterable[str], ttl: int) -> dict[str, Any]:
    """The claims of a Cognito client-credentials access token; `scopes` as issued (`ame-platform/...`)."""
    now = int(time.time())
    return {
        "sub": client_id,
        "client_id": client_id,
        "token_use": "access",
        "scope": " ".join(scopes),
        "iss": issuer,
        "iat": now,
        "exp": now + ttl,
        "auth_time": now,
        "jti": str(uuid.uuid4()),
        "version": 2,
    }


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """`Authorization: Basic base64(id:secret)` as (id, secret); None without one, TokenError if unreadable."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise TokenError("invalid_client")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise TokenError("invalid_client") from None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise TokenError("invalid_client")
    return client_id, secret


def read_form(body: bytes) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body; a field given twice is a malformed request."""
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise TokenError("invalid_request") from None
    if any(len(values) > 1 for values in fields.values()):
        raise TokenError("invalid_request")
    return {name: values[0] for name, values in fields.items()}


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class IssuerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    issuer: Issuer  # set on the subclass `make_server` builds

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == JWKS_PATH:
            return jsonhttp.send(self, 200, self.issuer.jwks())
        if path == TOKEN_PATH:
            return jsonhttp.send(self, 405, {"error": "invalid_request"}, {"Allow": "POST"})
        jsonhttp.send(self, 404, {"error": "not_found"})

    def do_POST(self) -> None:
        if urlsplit(self.path).path != TOKEN_PATH:
            self._drain()
            return jsonhttp.send(self, 404, {"error": "not_found"})
        try:
            answer = self._grant()
        except TokenError as refused:
            log.info("token refused: %s", refused.code)
            return jsonhttp.send(self, 400, {"error": refused.code}, NO_STORE)
        jsonhttp.send(self, 200, answer, NO_STORE)

    def _grant(self) -> dict[str, Any]:
        body = self._drain()
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded" or body is None:
            raise TokenError("invalid_request")
        return self.issuer.grant(read_form(body), basic_credentials(self.headers.get("Authorization")))

    def _drain(self) -> bytes | None:
        """The request body, or None when it is larger than any token request (it is not read then)."""
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_FORM_BYTES:
            self.close_connection = True
            return None
        return self.rfile.read(length)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: `grant` logs one line per token (client id and scopes), never a secret."""


def make_server(issuer: Issuer, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("BoundIssuerHandler", (IssuerHandler,), {"issuer": issuer})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8103)
    parser.add_argument("--clients", type=Path, required=True, help="a clients file (.devstack/clients.json's shape)")
    parser.add_argument("--key", type=Path, default=DEFAULT_KEY, help="the local test signing key (made if missing)")
    parser.add_argument("--ttl", type=int, default=TOKEN_TTL_SECONDS, help="seconds a token lives")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s issuer %(message)s")
    url = f"http://{args.host}:{args.port}"
    try:
        registered = LocalClients.load(args.clients, issuer=url)
    except ClientsFileError as bad:
        parser.exit(2, f"issuer: {bad}\n")
    issuer = Issuer(url, load_or_create_key(args.key), {c.client_id: c for c in registered.clients}, args.ttl)
    server = make_server(issuer, args.host, args.port)
    log.info("serving %s%s for %d clients, key %s", url, TOKEN_PATH, len(issuer.clients), issuer.jwk["kid"])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
