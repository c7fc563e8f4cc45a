"""The token source of callers outside the API (the AWS drill's canary): cached, and dr's pool as fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.identity.client_credentials import ClientCredentials, TokenRequestFailed
from drill.targets.aws import AwsTarget, StackOutputs

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def sample(stack: str) -> StackOutputs:
    return StackOutputs(**json.loads((SAMPLES / f"stack-outputs-{stack}.json").read_text()))


class FakeEndpoints:
    def __init__(self, down: set[str]) -> None:
        self.down = down
        self.grants: list[tuple[str, str]] = []

    def __call__(self, url: str, client_id: str, secret: str) -> tuple[str, float]:
        self.grants.append((url, client_id))
        if url in self.down:
            raise TokenRequestFailed(f"{url}: no answer (ConnectTimeout)")
        return f"token-{client_id}-{len(self.grants)}", 3600.0


def test_a_token_is_reused_until_a_minute_before_it_expires() -> None:
    clock, grants = [0.0], FakeEndpoints(set())
    client = ClientCredentials("https://pool/oauth2/token", "drill", "s3cret", monotonic=lambda: clock[0], grant=grants)
    first = client.token()
    clock[0] = 3600 - 61
    assert client.token() == first and len(grants.grants) == 1
    clock[0] = 3600 - 59
    assert client.token() != first and len(grants.grants) == 2


def test_the_drill_takes_dr_pools_token_when_prods_does_not_answer() -> None:
    prod, dr = sample("prod"), sample("dr")
    env = {
        "DRILL_CLIENT_ID": "p",
        "DRILL_CLIENT_SECRET": "ps",
        "DRILL_DR_CLIENT_ID": "d",
        "DRILL_DR_CLIENT_SECRET": "ds",
    }
    target = AwsTarget(prod, dr, env=env)
    endpoints = FakeEndpoints(down={prod.token_url})
    for client in target.clients:
        client.grant = endpoints
    assert target.api_headers() == {"Authorization": "Bearer token-d-2"}
    assert endpoints.grants == [(prod.token_url, "p"), (dr.token_url, "d")]


@pytest.mark.parametrize(
    "env",
    [{}, {"DRILL_CLIENT_ID": "p"}, {"DRILL_DR_CLIENT_ID": "d", "DRILL_DR_CLIENT_SECRET": "ds"}],
    ids=["nothing", "no secret", "only dr's client"],
)
def test_without_prods_client_the_preflight_names_both_variables_and_no_secret(env: dict[str, str]) -> None:
    target = AwsTarget(sample("prod"), sample("dr"), env=env)
    (problem,) = target.token_problem()
    assert problem.startswith("DRILL_CLIENT_ID and DRILL_CLIENT_SECRET are not set")
    assert target.prod.token_url in problem and "ds" not in problem
    with pytest.raises(TokenRequestFailed):
        target.api_headers()
