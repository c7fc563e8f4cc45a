"""The gatekeeper over Chalice's test client: every route needs a valid token with its scope, areas see
only their own orders, and what matches no route answers in the app's error shape."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import jwt
import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.api.catalog import ROUTES
from chalicelib.api.gatekeeper import current_caller
from chalicelib.audit.subjects import subject_hash
from chalicelib.errors import Unauthenticated
from chalicelib.identity.model import Scope, TokenRejected
from chalicelib.identity.tokens import MIN_REFRESH_INTERVAL_SECONDS, TokenVerifier
from tests.unit.audit.fakes import FakeAuditTrail
from tests.unit.builders import cpf
from tests.unit.test_services import body
from tests.unit.tokens import TestIssuer, signed

PROTECTED = [spec for spec in ROUTES if spec.scope is not None]
SAMPLE_PATHS = {
    "/v1/orders/{order_key}": "/v1/orders/ord_" + "1" * 32,
    "/v1/customers/{cpf}": f"/v1/customers/{cpf(3)}",
    "/v1/customers/{cpf}/decisions": f"/v1/customers/{cpf(3)}/decisions",
    "/v1/credit/decisions/{decision_id}": "/v1/credit/decisions/dec_" + "1" * 32,
}


@pytest.fixture
def raw_client(chalice_module: ModuleType, container: bootstrap.Container) -> Iterator[Client]:
    with Client(chalice_module.app) as c:
        yield c


def call(client: Client, method: str, path: str, token: str | None = None, **headers: str) -> Any:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body()).encode() if method in ("POST", "PUT") else b""
    return client.http.request(method, SAMPLE_PATHS.get(path, path), headers=headers, body=data)


def assert_unauthenticated(response: Any) -> None:
    assert response.status_code == 401
    assert response.json_body == {"error": {"code": "UNAUTHENTICATED", "message": "a valid bearer token is required"}}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ame-platform"'


@pytest.mark.parametrize("spec", PROTECTED, ids=lambda s: s.operation_id)
def test_without_a_token_every_route_but_the_public_ones_is_401(raw_client: Client, spec: Any) -> None:
    assert_unauthenticated(call(raw_client, spec.method, spec.path, **{"Content-Type": "application/json"}))


def test_health_needs_no_token(raw_client: Client) -> None:
    assert raw_client.http.get("/v1/health").status_code == 200


def forged_key_token(issuer: TestIssuer) -> str:
    impostor = TestIssuer(issuer.issuer, kid=issuer.kid)  # same issuer and key id, another private key
    return impostor.token()


def unsigned_token(issuer: TestIssuer) -> str:
    return jwt.encode(issuer.claims("client-credit", tuple(Scope)), "", algorithm="none", headers={"kid": issuer.kid})


def hmac_with_public_key(issuer: TestIssuer) -> str:
    """The classic RS256/HS256 confusion: an HMAC keyed with the issuer's public key."""
    import base64
    import hashlib
    import hmac

    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.kid}
    claims = issuer.claims("client-credit", tuple(Scope))

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    public_pem = jwt.algorithms.RSAAlgorithm.to_jwk(issuer.key.public_key()).encode()
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


BAD_TOKENS = {
    "expired beyond the leeway": lambda i: i.token(exp=int(time.time()) - 120),
    "signed with another key": forged_key_token,
    "alg none": unsigned_token,
    "HS256 keyed with the public key": hmac_with_public_key,
    "a client outside the area registry": lambda i: i.token(client_id="client-of-another-app"),
    "another audience": lambda i: i.token(aud="some-other-client"),
    "another issuer": lambda i: TestIssuer("https://cognito-idp.us-east-1.amazonaws.com/other", i.kid).token(),
    "an id token": lambda i: i.token(token_use="id"),
    "no client id": lambda i: i.token(client_id=None),
    "an unknown key id": lambda i: i.token(headers={"kid": "rotated-away"}),
    "not a JWT": lambda i: "not-a-jwt",
}


@pytest.mark.parametrize("make", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_every_bad_token_is_the_same_401(raw_client: Client, issuer: TestIssuer, make: Any) -> None:
    assert_unauthenticated(call(raw_client, "GET", "/v1/orders/{order_key}", make(issuer)))


@pytest.mark.parametrize("header", ["Basic Y2xpZW50OnNlY3JldA==", "Bearer", "Bearer  ", "token-without-scheme"])
def test_a_header_that_is_not_a_bearer_token_is_401(raw_client: Client, header: str) -> None:
    assert_unauthenticated(
        raw_client.http.get(SAMPLE_PATHS["/v1/orders/{order_key}"], headers={"Authorization": header})
    )


def test_a_token_just_past_expiry_is_accepted_within_the_clock_skew(raw_client: Client, issuer: TestIssuer) -> None:
    response = call(raw_client, "GET", "/v1/orders/{order_key}", issuer.token(exp=int(time.time()) - 5))
    assert (response.status_code, response.json_body["error"]["code"]) == (404, "ORDER_NOT_FOUND")


@pytest.mark.parametrize("spec", PROTECTED, ids=lambda s: s.operation_id)
def test_a_valid_token_without_the_routes_scope_is_403(raw_client: Client, issuer: TestIssuer, spec: Any) -> None:
    token = issuer.token(scopes=[scope for scope in Scope if scope != spec.scope])
    response = call(raw_client, spec.method, spec.path, token, **{"Content-Type": "application/json"})
    assert response.status_code == 403
    assert response.json_body == {"error": {"code": "FORBIDDEN", "message": "the token does not grant this operation"}}


def test_scopes_of_another_resource_server_grant_nothing(raw_client: Client, issuer: TestIssuer) -> None:
    token = issuer.token(scope="other-api/orders.read orders.read")
    assert call(raw_client, "GET", "/v1/orders/{order_key}", token).status_code == 403


def test_an_area_reads_only_its_own_orders(chalice_module: ModuleType, container: bootstrap.Container) -> None:
    with signed(chalice_module) as credit, signed(chalice_module, "client-consortium") as consortium:
        key = credit.http.post("/v1/orders", body=json.dumps(body())).json_body["order_key"]
        assert credit.http.get(f"/v1/orders/{key}").status_code == 200
        theirs = consortium.http.get(f"/v1/orders/{key}")
        missing = consortium.http.get("/v1/orders/ord_" + "0" * 32)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json_body["error"]["code"] == missing.json_body["error"]["code"] == "ORDER_NOT_FOUND"


def test_an_area_creates_orders_only_for_itself(chalice_module: ModuleType, container: bootstrap.Container) -> None:
    with signed(chalice_module, "client-consortium") as consortium:
        response = consortium.http.post("/v1/orders", body=json.dumps(body(area_id="AREA-CREDIT")))
    assert response.status_code == 403
    assert (response.json_body["error"]["code"], response.json_body["error"]["field"]) == ("FORBIDDEN_AREA", "area_id")
    assert container.orders.repository.orders == {}  # type: ignore[attr-defined]


def test_a_registered_area_unknown_to_the_parametrizer_is_422(
    chalice_module: ModuleType, container: bootstrap.Container
) -> None:
    with signed(chalice_module, "client-ghost") as ghost:
        response = ghost.http.post("/v1/orders", body=json.dumps(body(area_id="GHOST")))
    assert (response.status_code, response.json_body["error"]["code"]) == (422, "AREA_NOT_FOUND")


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/v1/orders"), ("PUT", "/v1/health"), ("PATCH", "/v1/orders")])
def test_a_method_the_route_does_not_serve_answers_route_not_found(
    chalice_module: ModuleType, container: bootstrap.Container, method: str, path: str
) -> None:
    with signed(chalice_module) as client:
        response = client.http.request(method, path, body=b"{}")
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "ROUTE_NOT_FOUND"


def test_a_body_that_is_not_json_is_415_in_the_apps_shape(
    chalice_module: ModuleType, container: bootstrap.Container
) -> None:
    with signed(chalice_module) as client:
        response = client.http.post("/v1/orders", headers={"Content-Type": "text/plain"}, body="hello")
    assert response.status_code == 415
    assert response.json_body == {
        "error": {"code": "UNSUPPORTED_MEDIA_TYPE", "message": "send the body as Content-Type: application/json"}
    }


def test_the_issuers_keys_are_fetched_once_and_an_unknown_kid_refreshes_them_at_most_every_interval(
    issuer: TestIssuer,
) -> None:
    clock = [1000.0]
    verifier = issuer.verifier()
    for keys in verifier._issuers.values():
        keys.monotonic = lambda: clock[0]
    issuer.jwks_fetches = 0
    for _ in range(5):
        verifier.verify(f"Bearer {issuer.token()}")
    assert issuer.jwks_fetches == 1
    forged = issuer.token(headers={"kid": "unknown"})
    for _ in range(5):
        with pytest.raises(TokenRejected):
            verifier.verify(f"Bearer {forged}")
    assert issuer.jwks_fetches == 1  # fetched moments ago: no refetch for a flood of unknown kids
    clock[0] += MIN_REFRESH_INTERVAL_SECONDS + 1
    with pytest.raises(TokenRejected):
        verifier.verify(f"Bearer {forged}")
    assert issuer.jwks_fetches == 2


def test_the_caller_carries_the_registry_area_and_only_known_scopes(issuer: TestIssuer) -> None:
    caller = issuer.verifier().verify(f"Bearer {issuer.token('client-consortium', ['orders.read', 'made.up'])}")
    assert (caller.client_id, caller.area_id, caller.scopes) == (
        "client-consortium",
        "AREA-CONSORTIUM",
        frozenset({Scope.ORDERS_READ}),
    )


def test_outside_a_request_nobody_is_the_caller() -> None:
    with pytest.raises(Unauthenticated):
        current_caller()


def test_every_route_the_app_serves_is_in_the_catalog(chalice_module: ModuleType) -> None:
    served = {(method, path) for path, methods in chalice_module.app.routes.items() for method in methods}
    catalogued = {(spec.method, spec.path) for spec in ROUTES}
    assert served <= catalogued, f"routes missing from chalicelib/api/catalog.py: {sorted(served - catalogued)}"


@pytest.fixture
def trail() -> Iterator[FakeAuditTrail]:
    fake = FakeAuditTrail()
    bootstrap.use_audit_trail(fake)
    yield fake
    bootstrap.use_audit_trail(None)


def test_every_personal_data_request_leaves_one_record_and_others_none(
    chalice_module: ModuleType, container: bootstrap.Container, trail: FakeAuditTrail, issuer: TestIssuer
) -> None:
    key = container.keys.audit_subject
    with signed(chalice_module) as credit, signed(chalice_module, "client-consortium") as consortium:
        order_key = credit.http.post("/v1/orders", body=json.dumps(body())).json_body["order_key"]
        credit.http.get(f"/v1/orders/{order_key}")
        consortium.http.get(f"/v1/orders/{order_key}")
        credit.http.get("/v1/health")
        credit.unsigned.get(f"/v1/customers/{cpf(3)}")
    created, read, probed, anonymous = trail.records
    requester = subject_hash(body()["requester"]["document"], key)
    assert (created.operation, created.outcome, created.client_id, created.area_id) == (
        "createOrder",
        "allowed",
        "client-credit",
        "AREA-CREDIT",
    )
    assert requester in created.subjects and created.resource == order_key
    assert (read.operation, read.status, read.resource) == ("getOrder", 200, order_key)
    assert (probed.area_id, probed.status, probed.outcome, probed.subjects) == ("AREA-CONSORTIUM", 404, "failed", ())
    assert (anonymous.client_id, anonymous.status, anonymous.outcome) == (None, 401, "denied")
    assert anonymous.subjects == (subject_hash(cpf(3), key),)
    assert all(cpf(3) not in line and body()["requester"]["document"] not in line for line in trail.lines)


def test_an_unreachable_issuer_is_asked_again_only_after_the_interval(issuer: TestIssuer) -> None:
    clock, attempts = [1000.0], []

    def down(url: str) -> Any:
        attempts.append(url)
        raise OSError("connection timed out")

    verifier = TokenVerifier(issuer.settings(), fetch=down)
    for keys in verifier._issuers.values():
        keys.monotonic = lambda: clock[0]
    for _ in range(5):
        with pytest.raises(TokenRejected):
            verifier.verify(f"Bearer {issuer.token()}")
    assert len(attempts) == 1
    clock[0] += MIN_REFRESH_INTERVAL_SECONDS + 1
    with pytest.raises(TokenRejected):
        verifier.verify(f"Bearer {issuer.token()}")
    assert len(attempts) == 2
