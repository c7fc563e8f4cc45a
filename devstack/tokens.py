"""The local stack's OAuth clients as data, and getting their tokens from the local issuer.

`make run` writes `.devstack/clients.json`: the token URL, the issuer, and every client it registered
(`{client_id, client_secret, area_id, scopes}`, scopes without the resource server's prefix). Scripts,
benchmarks and tests read it with `LocalClients.load` and call the API with `bearer(client)`:

    clients = LocalClients.load(Path(".devstack/clients.json"))
    requests.get(url, headers=clients.bearer(clients.for_area("AREA-CREDIT")))

`python -m devstack.tokens env FILE` prints the `export` lines an API process needs to trust that
issuer and those clients (`make chalice-local` evaluates them).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from chalicelib.identity.client_credentials import REFRESH_BEFORE_EXPIRY_SECONDS, TokenRequestFailed, request_token
from chalicelib.identity.model import Scope
from chalicelib.settings import RESOURCE_SERVER
from devstack import demo_data

EVERY_SCOPE = tuple(scope.value for scope in Scope)
ORDERS_SCOPES = (Scope.ORDERS_WRITE.value, Scope.ORDERS_READ.value)
READ_ONLY_SCOPES = (Scope.ORDERS_READ.value, Scope.CUSTOMERS_READ.value, Scope.POLICIES_READ.value)

DEMO_CLIENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ame-demo-credit", demo_data.AREA, EVERY_SCOPE),
    ("ame-demo-consortium", demo_data.SECOND_AREA, ORDERS_SCOPES),
    ("ame-demo-readonly", demo_data.AREA, READ_ONLY_SCOPES),
)
"""(client id, area id, scopes): the credit area's system with every scope, a second area that only
places and reads orders, and a read-only system of the credit area. Secrets are drawn per run."""


class ClientsFileError(ValueError):
    """A clients file that is not the documented shape; the message says what is wrong, never a secret."""


def full_scope(scope: str) -> str:
    """`orders.read` -> `ame-platform/orders.read` (a full name is returned as is)."""
    return scope if "/" in scope else f"{RESOURCE_SERVER}/{scope}"


@dataclass(frozen=True)
class LocalClient:
    client_id: str
    client_secret: str = field(repr=False)
    area_id: str
    scopes: tuple[str, ...]

    def may(self, scope: str) -> bool:
        return scope in self.scopes

    def document(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "area_id": self.area_id,
            "scopes": list(self.scopes),
        }


@dataclass
class LocalClients:
    """Every client the local issuer knows, where to get their tokens, and a cache of the tokens got."""

    issuer: str
    token_url: str
    clients: tuple[LocalClient, ...]
    _tokens: dict[tuple[str, tuple[str, ...] | None], tuple[str, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def demo(cls, issuer: str) -> Self:
        """The demo clients, each with a fresh secret."""
        made = (LocalClient(cid, secrets.token_urlsafe(32), area, scopes) for cid, area, scopes in DEMO_CLIENTS)
        return cls.at(issuer, tuple(made))

    @classmethod
    def at(cls, issuer: str, clients: tuple[LocalClient, ...]) -> Self:
        """`clients` registered with the local issuer at `issuer` (its token endpoint is `/oauth2/token`)."""
        issuer = issuer.rstrip("/")
        return cls(issuer, f"{issuer}/oauth2/token", clients)

    @classmethod
    def load(cls, path: Path, issuer: str | None = None) -> Self:
        """Reads a clients file; with `issuer`, its clients registered with that local issuer instead."""
        try:
            document = json.loads(path.read_text())
        except OSError as exc:
            raise ClientsFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        except ValueError:
            raise ClientsFileError(f"{path}: is not JSON") from None
        return cls.from_document(document, str(path), issuer)

    @classmethod
    def from_document(cls, document: Any, source: str, issuer: str | None = None) -> Self:
        if not isinstance(document, dict) or not isinstance(document.get("clients"), list):
            raise ClientsFileError(f'{source}: expected {{"clients": [{{"client_id", "client_secret", ...}}]}}')
        clients = tuple(_client(entry, f"{source}: clients[{n}]") for n, entry in enumerate(document["clients"]))
        if not clients:
            raise ClientsFileError(f"{source}: lists no clients")
        ids = [c.client_id for c in clients]
        if duplicated := sorted({i for i in ids if ids.count(i) > 1}):
            raise ClientsFileError(f"{source}: client_id {duplicated[0]!r} is listed more than once")
        if issuer is not None:
            return cls.at(issuer, clients)
        urls = [document.get("issuer"), document.get("token_url")]
        if not all(isinstance(url, str) and url.startswith(("http://", "https://")) for url in urls):
            raise ClientsFileError(f"{source}: issuer and token_url must be http(s) URLs")
        return cls(str(urls[0]).rstrip("/"), str(urls[1]), clients)

    def document(self) -> dict[str, Any]:
        """The file's shape: `{"token_url", "issuer", "clients": [...]}`."""
        return {
            "token_url": self.token_url,
            "issuer": self.issuer,
            "clients": [c.document() for c in self.clients],
        }

    def write(self, path: Path) -> None:
        """Readable by its owner only (0600): it holds the clients' secrets."""
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(self.document(), out, indent=2)
            out.write("\n")
        os.replace(scratch, path)

    def area_registry(self) -> dict[str, str]:
        """What `AME_AREA_CLIENTS` holds: client id -> area id."""
        return {c.client_id: c.area_id for c in self.clients}

    def api_env(self) -> dict[str, str]:
        """The settings an API process needs to trust this issuer and these clients."""
        return {
            "AME_TOKEN_ISSUERS": self.issuer,
            "AME_AREA_CLIENTS": json.dumps(self.area_registry(), separators=(",", ":")),
        }

    def client(self, client_id: str) -> LocalClient:
        for candidate in self.clients:
            if candidate.client_id == client_id:
                return candidate
        raise KeyError(f"no local client {client_id!r}")

    def for_area(self, area_id: str, scope: str | None = None) -> LocalClient:
        """The first client of `area_id` (holding `scope`, when given)."""
        for candidate in self.clients:
            if candidate.area_id == area_id and (scope is None or candidate.may(scope)):
                return candidate
        raise KeyError(f"no local client of {area_id!r}" + (f" with scope {scope!r}" if scope else ""))

    def token_for(self, client: LocalClient | str, scopes: Iterable[str] | None = None) -> str:
        """An access token for `client` (all its scopes, or just `scopes`), reused until a minute before it expires."""
        chosen = self.client(client) if isinstance(client, str) else client
        wanted = tuple(full_scope(s) for s in scopes) if scopes is not None else None
        key = (chosen.client_id, wanted)
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached[1] - time.monotonic() > REFRESH_BEFORE_EXPIRY_SECONDS:
                return cached[0]
        token, expires_in = request_token(self.token_url, chosen.client_id, chosen.client_secret, wanted)
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + expires_in)
        return token

    def bearer(self, client: LocalClient | str, scopes: Iterable[str] | None = None) -> dict[str, str]:
        """The `Authorization` header for `client`."""
        return {"Authorization": f"Bearer {self.token_for(client, scopes)}"}


def _client(entry: Any, where: str) -> LocalClient:
    if not isinstance(entry, dict):
        raise ClientsFileError(f"{where}: expected an object")
    for name in ("client_id", "client_secret", "area_id"):
        value = entry.get(name)
        if not isinstance(value, str) or not value or value != value.strip():
            raise ClientsFileError(f"{where}: {name} must be a non-empty string without surrounding spaces")
    if ":" in entry["client_id"]:
        raise ClientsFileError(f"{where}: client_id must not contain ':' (HTTP Basic separates it from the secret)")
    scopes = entry.get("scopes")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ClientsFileError(f"{where}: scopes must be a list of scope names, e.g. {list(ORDERS_SCOPES)}")
    unknown = [s for s in scopes if s not in EVERY_SCOPE]
    if unknown:
        raise ClientsFileError(f"{where}: unknown scope {unknown[0]!r} (known: {', '.join(EVERY_SCOPE)})")
    return LocalClient(entry["client_id"], entry["client_secret"], entry["area_id"], tuple(dict.fromkeys(scopes)))


def export_lines(clients: LocalClients) -> str:
    """`export NAME=value` lines, quoted for a POSIX shell."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in clients.api_env().items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The local stack's OAuth clients.")
    commands = parser.add_subparsers(dest="command", required=True)
    env = commands.add_parser("env", help="print the exports an API needs to trust the issuer and clients of FILE")
    env.add_argument("file", type=Path)
    token = commands.add_parser("token", help="print an access token for one client of FILE")
    token.add_argument("file", type=Path)
    token.add_argument("client_id")
    token.add_argument("--scope", action="append", help="a scope to ask for (repeatable; default: all of them)")
    args = parser.parse_args(argv)
    try:
        clients = LocalClients.load(args.file)
        if args.command == "env":
            sys.stdout.write(export_lines(clients))
        else:
            print(clients.token_for(args.client_id, args.scope))
    except (ClientsFileError, TokenRequestFailed, KeyError) as failed:
        print(f"devstack.tokens: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
