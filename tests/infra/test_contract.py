"""The infra's copy of the app's contract (tables, queues, env vars) must match the app itself."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest
from pynamodb.attributes import TTLAttribute

from ame_infra import config as infra_config
from ame_infra import contract
from ame_infra.chalice_package import ChalicePackage
from ame_infra.contract import ACCESS_BY_HANDLER, CREDIT, IDEMPOTENCY, ORDERS, PARTNERS, QUEUES, TableSpec
from chalicelib import keys, settings
from chalicelib.adapters.credit_dynamodb import credit_table
from chalicelib.adapters.dynamodb import IdempotencyModel, OrderModel
from chalicelib.api import gateway, openapi
from chalicelib.identity.model import Scope
from chalicelib.orders import requests
from chalicelib.settings import (
    ENVELOPE_REQUESTS_QUEUE,
    PARTNER_URL_VARIABLES,
    IdentitySettings,
    Settings,
    dead_letter_queue_name,
)
from tests.infra.conftest import ROOT
from tests.unit.test_architecture import imported_roots


def key_schema(entries: list[dict[str, str]]) -> dict[str, str]:
    return {entry["KeyType"]: entry["AttributeName"] for entry in entries}


@pytest.mark.parametrize(
    ("spec", "model"),
    [(ORDERS, OrderModel), (IDEMPOTENCY, IdempotencyModel), (CREDIT, credit_table("ame-credit", "us-east-1", None))],
    ids=["orders", "idempotency", "credit"],
)
def test_table_specs_match_the_pynamodb_models(spec: TableSpec, model: Any) -> None:
    # GIVEN the schema PynamoDB would create
    schema = model._get_schema()
    # THEN the infra declares the same keys, indexes and attribute types
    expected_keys = {"HASH": spec.hash_key, **({"RANGE": spec.range_key} if spec.range_key else {})}
    assert key_schema(schema["key_schema"]) == expected_keys
    assert {a["AttributeName"] for a in schema["attribute_definitions"]} == set(spec.attributes)
    assert all(a["AttributeType"] == "S" for a in schema["attribute_definitions"])
    indexes = {
        i["index_name"]: (key_schema(i["key_schema"]), i["projection"]["ProjectionType"])
        for i in schema["global_secondary_indexes"]
    }
    assert indexes == {i.name: ({"HASH": i.hash_key, "RANGE": i.range_key}, i.projection) for i in spec.indexes}
    assert model.Meta.table_name == spec.name


def test_ttl_attribute_matches_the_idempotency_model() -> None:
    assert isinstance(getattr(IdempotencyModel, IDEMPOTENCY.ttl_attribute or ""), TTLAttribute)
    assert ORDERS.ttl_attribute is None and CREDIT.ttl_attribute is None


def test_partner_variables_and_queue_defaults_match_the_app_settings() -> None:
    defaults = Settings.from_env(dict.fromkeys(PARTNER_URL_VARIABLES.values(), "https://x"))
    assert PARTNERS == PARTNER_URL_VARIABLES
    assert [q.name for q in QUEUES] == [
        defaults.envelope_requests_queue,
        defaults.envelope_results_queue,
        defaults.notifications_queue,
    ]


def test_dead_letter_queues_are_named_alike_by_the_infra_and_the_app() -> None:
    # replay-dlq and the local stack find a DLQ by the app's rule; the stacks create it by theirs
    assert [q.dlq_name for q in QUEUES] == [dead_letter_queue_name(q.name) for q in QUEUES]
    assert {q.dlq_name for q in QUEUES} == {
        "ame-envelope-requests-dlq",
        "ame-envelope-results-dlq.fifo",
        "ame-notifications-dlq.fifo",
    }


def test_every_packaged_handler_has_declared_access(package: ChalicePackage) -> None:
    assert {f.handler for f in package.functions} == set(ACCESS_BY_HANDLER)


def test_the_package_wires_the_envelope_queue_the_infra_declares(package: ChalicePackage) -> None:
    sources = [f.sqs_source for f in package.functions if f.sqs_source]
    assert [s.queue_name for s in sources] == [ENVELOPE_REQUESTS_QUEUE]
    assert sources[0].batch_size == 10


def test_the_pulumi_program_needs_only_its_own_directory() -> None:
    """`pulumi up` puts infra/ on the path, not the repo: importing the app would break it there."""
    for file in sorted((ROOT / "infra").rglob("*.py")):
        assert not imported_roots(file) & {"chalicelib", "app", "devstack", "tests", "bench"}, file


# --- identity, keys and gateway answers (issue 10) -------------------------------------------


def test_the_resource_server_defines_exactly_the_apps_scopes_in_its_order() -> None:
    assert list(contract.SCOPES) == [scope.value for scope in Scope]
    assert all(0 < len(text) <= 256 for text in contract.SCOPES.values())  # Cognito's description limit
    assert contract.RESOURCE_SERVER == settings.RESOURCE_SERVER
    assert contract.full_scope(Scope.CREDIT_DECIDE) == "ame-platform/credit.decide"


@pytest.mark.parametrize(
    ("infra", "app"),
    [
        (contract.ROUTE_NOT_FOUND, gateway.ROUTE_NOT_FOUND),
        (contract.UNSUPPORTED_MEDIA_TYPE, gateway.UNSUPPORTED_MEDIA_TYPE),
        (contract.UNAUTHENTICATED, gateway.UNAUTHENTICATED),
        (contract.FORBIDDEN, gateway.FORBIDDEN),
        (contract.THROTTLED, gateway.THROTTLED),
    ],
    ids=lambda answer: answer.code,
)
def test_gateway_answers_are_the_apps_to_the_byte(infra: contract.GatewayAnswer, app: gateway.GatewayAnswer) -> None:
    assert infra.body_text() == app.body_text()
    assert infra.status == app.status


def test_the_401_challenge_is_the_apps() -> None:
    assert contract.WWW_AUTHENTICATE == gateway.WWW_AUTHENTICATE


def test_the_identity_environment_is_what_the_app_reads() -> None:
    issuers = [
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A",
        "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_B",
    ]
    token_url = "https://bank-ame.auth.us-east-1.amazoncognito.com/oauth2/token"
    env = contract.identity_environment(issuers, {"c-east": "AREA-CREDIT", "c-west": "AREA-CREDIT"}, token_url)
    assert tuple(env) == contract.IDENTITY_VARIABLES
    assert openapi.token_url_from(env) == token_url
    identity = IdentitySettings.from_env(env)
    assert identity.issuers == tuple(issuers)
    assert identity.area_clients == {"c-east": "AREA-CREDIT", "c-west": "AREA-CREDIT"}
    assert identity.resource_server == "ame-platform"


@pytest.mark.parametrize(
    "area_id",
    ["AREA-CREDIT", "a.b_c-1", "A" * 64, "A" * 65, "-AREA", "AREA X", "AREA\n", "ÁREA", "", "AREA/1"],
)
def test_area_ids_in_stack_config_are_those_orders_accept(area_id: str) -> None:
    orders_accept = requests._CODE.fullmatch(area_id) is not None
    assert (contract.AREA_ID_PATTERN.fullmatch(area_id) is not None) == orders_accept


def test_the_stack_refuses_an_app_secret_the_app_would_refuse() -> None:
    assert infra_config.MIN_APP_SECRET_BYTES == keys.MIN_SECRET_BYTES


def variables_the_app_reads() -> set[str]:
    """Every `AME_*` name a string in the Lambda code spells: chalicelib/ and app.py, but not the
    operators' commands (chalicelib/commands), which run on a workstation."""
    files = [f for f in sorted((ROOT / "chalicelib").rglob("*.py")) if "commands" not in f.parts]
    names: set[str] = set()
    for file in [*files, ROOT / "app" / "app.py"]:
        tree = ast.parse(file.read_text())
        names |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return {name for name in names if re.fullmatch(r"AME_[A-Z0-9_]+", name)}


LEFT_AT_THE_APPS_DEFAULT = {
    # Tuning with a default chosen in the app (settings.py); an operator may set them on a function.
    "AME_POLICY_TTL_SECONDS",
    "AME_PARTNER_CONNECT_TIMEOUT",
    "AME_PARTNER_READ_TIMEOUT",
    "AME_PARTNER_RETRIES",
    "AME_PARTNER_MAX_IN_FLIGHT",
    "AME_PARTNER_BREAKER_FAIL_MAX",
    "AME_PARTNER_BREAKER_RESET_SECONDS",
    "AME_PARTNER_RETRY_BUDGET",
    "AME_REFERENCE_CACHE_SECONDS",
    "AME_REFERENCE_MAX_STALE_SECONDS",
    "AME_CONTACT_CACHE_SECONDS",
    "AME_OPERATOR_CACHE_SECONDS",
    "AME_IDEMPOTENCY_TTL_HOURS",
    "AME_WORKER_THREADS",
    "AME_BATCH_CONCURRENCY",
    "AME_BATCH_DEADLINE_MARGIN_SECONDS",
    "AME_SWEEP_AFTER_SECONDS",
    "AME_SWEEP_MAX_RESCUES",
    "AME_OUTBOX_WINDOW_SECONDS",
    "AME_OUTBOX_RETRY_SECONDS",
    "AME_TOKEN_LEEWAY_SECONDS",
    "AME_JWKS_TTL_SECONDS",
    "AME_LOG_LEVEL",
    "AME_METRICS",  # emf in Lambda, off elsewhere (bootstrap.metrics_backend_wanted)
    "AME_PEER_PROBES",
    "AME_PEER_PROBE_INTERVAL_SECONDS",
    "AME_PEER_PROBE_TIMEOUT_SECONDS",
}
NEVER_SET_IN_AWS = {"AME_APP_SECRET"}  # the secret itself: AWS reads AME_APP_SECRET_PARAMETER from SSM


def test_every_variable_the_app_reads_is_set_by_the_stacks_or_left_at_a_default_on_purpose() -> None:
    env = contract.lambda_environment(
        "primary",
        "us-east-1",
        "api.example.com",
        5,
        dict.fromkeys(PARTNERS, "https://x"),
        "us-west-2",
        claim_check_bucket="ame-claim-check-us-east-1",
    )
    set_by_stacks = set(env) | set(contract.IDENTITY_VARIABLES) | set(contract.takeover_environment("https://x"))
    read = variables_the_app_reads()
    assert "AME_TOKEN_ISSUERS" in read and "AME_PARAMETRIZER_URL" in read  # the scan sees settings.py
    undecided = read - set_by_stacks - LEFT_AT_THE_APPS_DEFAULT - NEVER_SET_IN_AWS
    assert not undecided, f"set these in contract.lambda_environment or list them as defaulted: {sorted(undecided)}"
    assert not set_by_stacks & NEVER_SET_IN_AWS
    assert not set_by_stacks - read, "the stacks set variables the app never reads"
    assert env["AME_APP_SECRET_PARAMETER"] == "/ame-platform/us-east-1/app-secret"
