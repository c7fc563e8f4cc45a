"""The local token issuer over HTTP: Cognito's client-credentials answers and errors, tokens in the
contract's shape that verify against the JWKS it serves (with PyJWT, and with the API's own verifier)."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from chalicelib.identity.client_credentials import TokenRequestFailed
from chalicelib.identity.model import Scope
from chalicelib.identity.tokens import TokenVerifier
from chalicelib.settings import IdentitySettings
from devstack.issuer import Issuer, load_or_create_key, make_server
from devstack.stack import ROOT, free_port, wait_until
from devstack.tokens import LocalClients

pytestmark = pytest.mark.integration
CLAIMS = {"sub", "client_id", "token_use", "scope", "iss", "iat", "exp", "auth_time", "jti", "version"}


@pytest.fixture(scope="module")
def key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("issuer") / "key.pem"


@pytest.fixture(scope="module")
def clients(key_path: Path) -> Iterator[LocalClients]:
    """The demo clients, registered with an issuer serving on a free port in this process."""
    port = free_port()
    registered = LocalClients.demo(f"http://127.0.0.1:{port}")
    issuer = Issuer(registered.issuer, load_or_create_key(key_path), {c.client_id: c for c in registered.clients})
    server = make_server(issuer, "127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield registered
    server.shutdown()
    server.server_close()


def grant(clients: LocalClients, form: dict[str, str], auth: tuple[str, str] | None = None) -> requests.Response:
    return requests.post(clients.token_url, data=form, auth=auth, timeout=5)


def credentials(clients: LocalClients, client_id: str) -> tuple[str, str]:
    client = clients.client(client_id)
    return client.client_id, client.client_secret


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def test_a_token_has_the_contracts_claims_and_verifies_against_the_served_jwks(clients: LocalClients) -> None:
    # GIVEN the credit area's client WHEN it asks for a token with HTTP Basic
    answer = grant(clients, {"grant_type": "client_credentials"}, credentials(clients, "ame-demo-credit"))
    # THEN the answer is Cognito's, not to be cached
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert (body["expires_in"], body["token_type"]) == (3600, "Bearer")
    assert answer.headers["Cache-Control"] == "no-store"
    token = body["access_token"]
    # AND the token is signed by the key the JWKS serves, under its kid
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["typ"]) == ("RS256", "JWT")
    signing_key = jwt.PyJWKClient(f"{clients.issuer}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims = jwt.decode(token, signing_key.key, algorithms=["RS256"], issuer=clients.issuer)
    # AND it carries exactly the contract's claims, every scope of the client prefixed with the resource server
    assert set(claims) == CLAIMS
    assert (claims["sub"], claims["client_id"], claims["token_use"], claims["version"]) == (
        "ame-demo-credit",
        "ame-demo-credit",
        "access",
        2,
    )
    assert claims["scope"].split() == [f"ame-platform/{s.value}" for s in Scope]
    assert claims["exp"] - claims["iat"] == 3600 and claims["auth_time"] == claims["iat"]


def test_the_apis_own_verifier_accepts_the_token_and_finds_the_area(clients: LocalClients) -> None:
    # GIVEN the API's verifier trusting this issuer and the clients' area registry (it fetches the JWKS itself)
    env = clients.api_env()
    verifier = TokenVerifier(IdentitySettings.from_env(env))
    # WHEN the consortium's system calls with its token
    caller = verifier.verify(clients.bearer("ame-demo-consortium")["Authorization"])
    # THEN it is that area's system with its scopes
    assert (caller.client_id, caller.area_id) == ("ame-demo-consortium", "AREA-CONSORTIUM")
    assert caller.scopes == {Scope.ORDERS_WRITE, Scope.ORDERS_READ}


def test_form_fields_authenticate_as_well_as_basic(clients: LocalClients) -> None:
    client_id, secret = credentials(clients, "ame-demo-readonly")
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    answer = grant(clients, form)
    assert answer.status_code == 200
    assert claims_of(answer.json()["access_token"])["client_id"] == "ame-demo-readonly"


def test_a_scope_subset_gets_only_those_scopes(clients: LocalClients) -> None:
    form = {"grant_type": "client_credentials", "scope": "ame-platform/orders.read ame-platform/credit.decide"}
    answer = grant(clients, form, credentials(clients, "ame-demo-credit"))
    assert claims_of(answer.json()["access_token"])["scope"] == "ame-platform/orders.read ame-platform/credit.decide"


@pytest.mark.parametrize(
    ("client_id", "form", "error"),
    [
        ("ame-demo-consortium", {"scope": "ame-platform/credit.decide"}, "invalid_scope"),
        ("ame-demo-consortium", {"scope": "ame-platform/orders.read ame-platform/credit.decide"}, "invalid_scope"),
        ("ame-demo-consortium", {"scope": "orders.read"}, "invalid_scope"),  # Cognito wants the full name
        ("ame-demo-credit", {"grant_type": "password"}, "unsupported_grant_type"),
        ("ame-demo-credit", {"grant_type": ""}, "invalid_request"),
    ],
)
def test_a_grant_the_client_may_not_have_is_a_400_with_cognitos_error(
    clients: LocalClients, client_id: str, form: dict[str, str], error: str
) -> None:
    answer = grant(clients, {"grant_type": "client_credentials", **form}, credentials(clients, client_id))
    assert (answer.status_code, answer.json()) == (400, {"error": error})


@pytest.mark.parametrize(
    "auth",
    [("ame-demo-credit", "wrong"), ("ame-demo-credit", ""), ("nobody", "wrong"), None],
    ids=["wrong secret", "empty secret", "unknown client", "no credentials"],
)
def test_a_client_that_does_not_authenticate_is_invalid_client(
    clients: LocalClients, auth: tuple[str, str] | None
) -> None:
    answer = grant(clients, {"grant_type": "client_credentials"}, auth)
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_client"})
    assert "access_token" not in answer.text


def test_another_clients_secret_does_not_authenticate(clients: LocalClients) -> None:
    _, consortiums = credentials(clients, "ame-demo-consortium")
    answer = grant(clients, {"grant_type": "client_credentials"}, ("ame-demo-credit", consortiums))
    assert answer.json() == {"error": "invalid_client"}


def test_a_token_request_that_is_not_a_form_is_invalid_request(clients: LocalClients) -> None:
    client_id, secret = credentials(clients, "ame-demo-credit")
    answer = requests.post(
        clients.token_url, json={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=5
    )
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_request"})
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    twice = requests.post(
        clients.token_url,
        data={"grant_type": "client_credentials", "client_id": client_id},
        headers={"Authorization": f"Basic {basic}"},
        timeout=5,
    )
    assert twice.json() == {"error": "invalid_request"}  # Basic and form credentials at once


def test_the_client_helper_reuses_a_token_until_near_its_expiry(clients: LocalClients) -> None:
    fresh = LocalClients.from_document(clients.document(), "test")
    first = fresh.token_for("ame-demo-credit")
    assert fresh.token_for("ame-demo-credit") == first
    narrower = fresh.token_for("ame-demo-credit", ["credit.decide"])
    assert narrower != first and claims_of(narrower)["scope"] == "ame-platform/credit.decide"
    assert fresh.bearer("ame-demo-credit") == {"Authorization": f"Bearer {first}"}


def test_the_client_helper_says_which_error_the_issuer_gave(clients: LocalClients) -> None:
    with pytest.raises(TokenRequestFailed, match="400 invalid_scope"):
        clients.token_for("ame-demo-consortium", ["credit.decide"])


def test_the_issuer_keeps_its_local_test_key_across_restarts(tmp_path: Path) -> None:
    # GIVEN no key yet, and a clients file
    key, clients_file = tmp_path / "issuer" / "key.pem", tmp_path / "clients.json"
    LocalClients.demo("http://127.0.0.1:1").write(clients_file)
    kids = []
    for _ in range(2):
        # WHEN the issuer starts (twice) as the stack starts it
        port = free_port()
        argv = [sys.executable, "-m", "devstack.issuer", "--port", str(port), "--clients", str(clients_file)]
        process = subprocess.Popen([*argv, "--key", str(key)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            wait_until(f"http://127.0.0.1:{port}/.well-known/jwks.json", 15, process)
            (jwk,) = requests.get(f"http://127.0.0.1:{port}/.well-known/jwks.json", timeout=5).json()["keys"]
            kids.append(jwk["kid"])
        finally:
            process.terminate()
            process.wait(timeout=10)
    # THEN it wrote its key for its owner only, and signs with the same key (same kid) after a restart
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert kids[0] == kids[1] and jwt.PyJWK(jwk).key_id == kids[0]


def test_the_issuer_refuses_to_start_on_a_bad_clients_file(tmp_path: Path) -> None:
    bad = tmp_path / "clients.json"
    bad.write_text(json.dumps({"clients": [{"client_id": "x", "client_secret": "s", "area_id": "A", "scopes": ["*"]}]}))
    argv = [sys.executable, "-m", "devstack.issuer", "--port", str(free_port()), "--clients", str(bad)]
    done = subprocess.run([*argv, "--key", str(tmp_path / "key.pem")], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "unknown scope '*'" in done.stderr
