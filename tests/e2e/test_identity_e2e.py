"""Who may call what, over HTTP against the whole stack, with tokens from its own issuer.

Tokens the issuer would never mint (expired, another audience, `alg: none`, signed by another key)
are signed here with the issuer's local test key (`.devstack/issuer/key.pem`), as any test harness in
the checkout can.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.api.catalog import ROUTES, RouteSpec
from chalicelib.identity.model import Scope
from devstack import demo_data as demo
from devstack.issuer import access_token_claims, load_or_create_key, public_jwk
from devstack.stack import LocalStack
from tests.e2e.conftest import CONSORTIUM, CREDIT, READ_ONLY, auth

pytestmark = pytest.mark.e2e
SAMPLE_PATH_VALUES = {
    "{order_key}": f"ord_{'0' * 32}",
    "{cpf}": demo.ANA.cpf,
    "{decision_id}": f"dec_{'0' * 32}",
}


def claims(stack: LocalStack, client_id: str = CREDIT, **overrides: Any) -> dict[str, Any]:
    scopes = (f"ame-platform/{scope.value}" for scope in Scope)
    return {**access_token_claims(stack.issuer_url, client_id, scopes, 600), **overrides}


def signed(stack: LocalStack, payload: dict[str, Any], key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
    """`payload` signed RS256 under the issuer's kid: with its local test key, unless another is given."""
    issuer_key = load_or_create_key(stack.config.issuer_key)
    token = jwt.encode(payload, key or issuer_key, algorithm="RS256", headers={"kid": public_jwk(issuer_key)["kid"]})
    return {"Authorization": f"Bearer {token}"}


def get_policy(stack: LocalStack, headers: dict[str, str]) -> requests.Response:
    return requests.get(f"{stack.api_url}/v1/credit/policies/active", headers=headers, timeout=5)


def assert_unauthenticated(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


PROTECTED = [spec for spec in ROUTES if spec.scope is not None]


@pytest.mark.parametrize("spec", PROTECTED, ids=[spec.operation_id for spec in PROTECTED])
def test_every_route_but_the_public_ones_needs_a_token(stack: LocalStack, spec: RouteSpec) -> None:
    path = spec.path
    for template, value in SAMPLE_PATH_VALUES.items():
        path = path.replace(template, value)
    body: dict[str, Any] | None = {} if spec.method in ("POST", "PUT") else None
    assert_unauthenticated(requests.request(spec.method, f"{stack.api_url}{path}", json=body, timeout=10))


def test_health_needs_no_token(stack: LocalStack) -> None:
    assert requests.get(f"{stack.api_url}/v1/health", timeout=5).status_code == 200


def test_a_token_signed_here_with_the_issuers_key_is_accepted(stack: LocalStack) -> None:
    # the control for the refusals below: the harness's own tokens are good when nothing is wrong with them
    assert get_policy(stack, signed(stack, claims(stack))).status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 120},  # beyond the 30 s of allowed clock skew
        {"aud": "another-client"},
        {"token_use": "id"},
        {"iss": "http://127.0.0.1:9/not-our-issuer"},
        {"client_id": "ame-unregistered"},
    ],
    ids=["expired", "another audience", "an id token", "another issuer", "a client outside the area registry"],
)
def test_a_token_that_is_not_one_of_ours_for_us_is_401(stack: LocalStack, overrides: dict[str, Any]) -> None:
    assert_unauthenticated(get_policy(stack, signed(stack, claims(stack, **overrides))))


def test_a_token_signed_by_another_key_is_401(stack: LocalStack) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_unauthenticated(get_policy(stack, signed(stack, claims(stack), key=impostor)))


def test_an_unsigned_token_is_401(stack: LocalStack) -> None:
    token = jwt.encode(claims(stack), "", algorithm="none")
    assert_unauthenticated(get_policy(stack, {"Authorization": f"Bearer {token}"}))


def test_a_token_without_the_routes_scope_is_403(stack: LocalStack) -> None:
    # GIVEN the read-only client WHEN it places an order THEN it is forbidden; it may still read the policy
    response = requests.post(
        f"{stack.api_url}/v1/orders", json=demo.order_body(demo.ACME.cnpj), headers=auth(stack, READ_ONLY), timeout=10
    )
    assert (response.status_code, response.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert get_policy(stack, auth(stack, READ_ONLY)).status_code == 200


def test_an_area_reads_only_its_own_orders(stack: LocalStack) -> None:
    # GIVEN an order the credit area placed
    placed = requests.post(
        f"{stack.api_url}/v1/orders", json=demo.order_body(demo.ACME.cnpj), headers=auth(stack), timeout=10
    )
    assert placed.status_code == 202, placed.text
    url = f"{stack.api_url}/v1/orders/{placed.json()['order_key']}"
    # WHEN another area's system reads it THEN it is not found, exactly as a missing one
    theirs = requests.get(url, headers=auth(stack, CONSORTIUM), timeout=5)
    assert (theirs.status_code, theirs.json()["error"]["code"]) == (404, "ORDER_NOT_FOUND")
    # AND its own area's systems do find it
    assert requests.get(url, headers=auth(stack, READ_ONLY), timeout=5).status_code == 200


def test_an_area_places_orders_only_for_itself(stack: LocalStack) -> None:
    url = f"{stack.api_url}/v1/orders"
    for_another = requests.post(url, json=demo.order_body(demo.ACME.cnpj), headers=auth(stack, CONSORTIUM), timeout=10)
    assert (for_another.status_code, for_another.json()["error"]["code"]) == (403, "FORBIDDEN_AREA")
    own = demo.order_body(demo.ACME.cnpj, area_id=demo.SECOND_AREA)
    assert requests.post(url, json=own, headers=auth(stack, CONSORTIUM), timeout=10).status_code == 202
