"""The infra's copy of the app's contract (tables, queues, env vars) must match the app itself."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.attributes import TTLAttribute

from ame_infra.chalice_package import ChalicePackage
from ame_infra.contract import ACCESS_BY_HANDLER, CREDIT, IDEMPOTENCY, ORDERS, PARTNERS, QUEUES, TableSpec
from ame_infra.contract import region_switch_parameter as infra_switch
from chalicelib.adapters.credit_dynamodb import credit_table
from chalicelib.adapters.dynamodb import IdempotencyModel, OrderModel
from chalicelib.settings import (
    ENVELOPE_REQUESTS_QUEUE,
    PARTNER_URL_VARIABLES,
    Settings,
    dead_letter_queue_name,
    region_switch_parameter,
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


def test_the_region_switch_is_named_alike_by_the_infra_and_the_app() -> None:
    assert infra_switch("us-west-2") == region_switch_parameter("us-west-2")


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
