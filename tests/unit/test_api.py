"""The HTTP and SQS entry points over fake ports: status codes, error shapes, batch failures."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from tests.unit.builders import cnpj
from tests.unit.test_services import body
from tests.unit.tokens import SignedClient, signed

CO = cnpj(1)


@pytest.fixture
def client(chalice_module: ModuleType, container: bootstrap.Container) -> Iterator[SignedClient]:
    with signed(chalice_module) as c:
        yield c


def post(client: SignedClient, payload: Any, key: str | None = None, raw: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    return client.http.post("/v1/orders", headers=headers, body=raw if raw is not None else json.dumps(payload))


def sqs_event(*bodies: str, receive_count: int = 1) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": str(uuid.uuid4()),
                "body": b,
                "attributes": {"ApproximateReceiveCount": str(receive_count)},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ame-envelope-requests",
            }
            for b in bodies
        ]
    }


def test_post_answers_202_with_location_then_get_shows_processing(client: SignedClient) -> None:
    response = post(client, body())
    assert response.status_code == 202
    key = response.json_body["order_key"]
    assert response.json_body["status"] == "PROCESSING"
    assert response.headers["Location"] == f"/v1/orders/{key}"
    order = client.http.get(f"/v1/orders/{key}").json_body
    assert (order["status"], order["quorum"], order["reason"], order["parties"]) == ("PROCESSING", None, None, [])


@pytest.mark.parametrize(
    ("raw", "status", "code", "field"),
    [
        ("{not json", 400, "VALIDATION_ERROR", None),
        ("[]", 400, "VALIDATION_ERROR", None),
        (json.dumps(body(amount=12.5)), 400, "VALIDATION_ERROR", "amount"),
        (json.dumps(body(requester={"document": "11.111.111/1111-11"})), 400, "INVALID_DOCUMENT", "requester.document"),
        (json.dumps(body(area_id="GHOST")), 403, "FORBIDDEN_AREA", "area_id"),
        (json.dumps(body(power_code="NOPE")), 422, "UNKNOWN_POWER", "power_code"),
    ],
)
def test_bad_input_gets_a_4xx_error_with_code_message_and_field(
    client: SignedClient, raw: str, status: int, code: str, field: str | None
) -> None:
    response = post(client, None, raw=raw)
    assert response.status_code == status
    error = response.json_body["error"]
    assert error["code"] == code and error["message"]
    assert error.get("field") == field


def test_idempotency_key_replays_and_conflicts(client: SignedClient) -> None:
    first = post(client, body(), key="abc")
    again = post(client, body(), key="abc")
    other = post(client, body(amount="2.00"), key="abc")
    assert again.status_code == 202 and again.json_body == first.json_body
    assert other.status_code == 409 and other.json_body["error"]["code"] == "IDEMPOTENCY_CONFLICT"


def test_malformed_idempotency_key_is_a_validation_error(client: SignedClient) -> None:
    response = post(client, body(), key="x" * 129)
    assert response.status_code == 400 and response.json_body["error"]["field"] == "Idempotency-Key"


def test_partner_and_queue_outages_are_503(client: SignedClient, container: bootstrap.Container) -> None:
    container.orders.queue.down = True  # type: ignore[attr-defined]
    queue_down = post(client, body())
    assert (queue_down.status_code, queue_down.json_body["error"]["code"]) == (503, "QUEUE_UNAVAILABLE")
    container.orders.partners.parametrizer.down = True  # type: ignore[attr-defined]
    response = post(client, body())
    assert (response.status_code, response.json_body["error"]["code"]) == (503, "PARTNER_UNAVAILABLE")


def test_unknown_or_malformed_order_keys_are_404(client: SignedClient) -> None:
    for key in ("ord_" + "0" * 32, "not-a-key", "ord_" + "x" * 300):
        response = client.http.get(f"/v1/orders/{key}")
        assert response.status_code == 404
        assert response.json_body["error"]["code"] == "ORDER_NOT_FOUND"


def test_unexpected_errors_are_500_without_a_stack_trace(client: SignedClient, container: bootstrap.Container) -> None:
    def explode(order_key: str) -> None:
        raise KeyError("secret internals")

    container.orders.repository.get = explode  # type: ignore[method-assign]
    response = client.http.get("/v1/orders/ord_" + "1" * 32)
    assert response.status_code == 500
    assert response.json_body == {
        "error": {"code": "INTERNAL_ERROR", "message": "unexpected error; the request was not completed"}
    }


def test_health_reports_region_and_role(client: SignedClient) -> None:
    assert client.http.get("/v1/health").json_body == {"status": "ok", "region": "sa-east-1", "role": "dr"}


def test_every_answer_names_the_region_that_served_it(client: SignedClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-west-2")  # what Lambda sets in the region it runs in
    assert client.http.get("/v1/health").headers["X-Ame-Region"] == "us-west-2"
    assert client.http.get("/v1/orders/nope").headers["X-Ame-Region"] == "us-west-2"


def test_a_fenced_region_fails_health_and_refuses_writes_but_answers_reads(
    client: SignedClient, container: bootstrap.Container
) -> None:
    # GIVEN an order accepted while in service
    order_key = post(client, body()).json_body["order_key"]
    # WHEN the standby takes over (the switch fences this region)
    container.region_switch.serving = False  # type: ignore[attr-defined]
    # THEN health is 503 in the error shape, and so is every write route
    health = client.http.get("/v1/health")
    assert health.status_code == 503 and health.json_body["error"]["code"] == "REGION_FENCED"
    refused = post(client, body())
    assert refused.status_code == 503 and refused.json_body["error"]["code"] == "REGION_FENCED"
    decision = {"cpf": "52998224725", "amount": "1000.00", "term_months": 12, "product": "PERSONAL"}
    headers = {"Content-Type": "application/json"}
    credit = client.http.post("/v1/credit/decisions", headers=headers, body=json.dumps(decision))
    assert credit.status_code == 503 and credit.json_body["error"]["code"] == "REGION_FENCED"
    profile = json.dumps({"monthly_income": "1000.00", "existing_debts": "0.00"})
    put = client.http.put("/v1/customers/52998224725", headers=headers, body=profile)
    assert put.status_code == 503 and put.json_body["error"]["code"] == "REGION_FENCED"
    # AND nothing was stored by the refused writes, while reads still answer
    assert len(container.orders.repository.orders) == 1  # type: ignore[attr-defined]
    assert client.http.get(f"/v1/orders/{order_key}").status_code == 200
    # AND once the switch is cleared the region writes again
    container.region_switch.serving = True  # type: ignore[attr-defined]
    assert client.http.get("/v1/health").status_code == 200
    assert post(client, body()).status_code == 202


def test_health_names_the_dependency_that_failed(client: SignedClient, container: bootstrap.Container) -> None:
    container.health._dependencies[0].down = "InternalServerError"  # type: ignore[attr-defined]
    response = client.http.get("/v1/health")
    assert response.status_code == 503
    assert response.json_body == {
        "error": {
            "code": "DEPENDENCY_UNAVAILABLE",
            "message": "health check failed: dynamodb is unavailable (InternalServerError)",
        }
    }


def test_a_fenced_worker_decides_nothing_and_marks_nothing_failed(
    chalice_module: ModuleType, container: bootstrap.Container
) -> None:
    with signed(chalice_module) as c:
        order_key = post(c, body()).json_body["order_key"]
    container.region_switch.serving = False  # type: ignore[attr-defined]
    event = sqs_event(json.dumps({"order_key": order_key}), receive_count=2)  # the last receive (max 2)
    response = chalice_module.assemble_envelopes(event, None)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [event["Records"][0]["messageId"]]
    assert container.orders.repository.get(order_key).status.value == "PROCESSING"  # type: ignore[union-attr]


def test_the_scheduled_sweeper_runs_through_the_container(client: SignedClient, container: bootstrap.Container) -> None:
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=["arn:aws:events:rule/sweep"]
    )
    response = client.lambda_.invoke("sweep_stuck_orders", event)
    assert response.payload == {"active": True, "requeued": 0, "took_over": False}
    container.region_switch.serving = False  # type: ignore[attr-defined]
    assert client.lambda_.invoke("sweep_stuck_orders", event).payload == {
        "active": False,
        "requeued": 0,
        "took_over": False,
    }


def test_sqs_handler_reports_only_the_failed_records(
    chalice_module: ModuleType, container: bootstrap.Container
) -> None:
    with signed(chalice_module) as c:
        order_key = post(c, body()).json_body["order_key"]
        event = sqs_event(json.dumps({"order_key": order_key}), "not json", json.dumps({"order_key": "ord_missing"}))
        response = chalice_module.assemble_envelopes(event, None)
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert failed == {r["messageId"] for r in event["Records"][1:]}
    assert container.orders.repository.get(order_key).status.value == "QUORUM_MET"  # type: ignore[union-attr]


def test_sqs_handler_marks_failed_on_the_last_receive(
    chalice_module: ModuleType, container: bootstrap.Container
) -> None:
    container.orders.partners.powers.failures = 10  # type: ignore[attr-defined]
    with signed(chalice_module) as c:
        order_key = post(c, body()).json_body["order_key"]
        message = json.dumps({"order_key": order_key})
        first = chalice_module.assemble_envelopes(sqs_event(message, receive_count=1), None)
        assert container.orders.repository.get(order_key).status.value == "PROCESSING"  # type: ignore[union-attr]
        last = chalice_module.assemble_envelopes(sqs_event(message, receive_count=2), None)
        order = c.http.get(f"/v1/orders/{order_key}").json_body
    assert len(first["batchItemFailures"]) == len(last["batchItemFailures"]) == 1
    assert (order["status"], order["reason"]) == ("FAILED", "PARTNER_UNAVAILABLE")


def test_a_claim_check_not_replicated_yet_is_503_not_500(client: SignedClient, container: bootstrap.Container) -> None:
    from chalicelib.orders.claim_check import ClaimCheckError

    def lagging(order_key: str) -> None:
        raise ClaimCheckError("claim-check object orders/ord_x/parties-0.json is missing")

    container.orders.repository.get = lagging  # type: ignore[method-assign]
    response = client.http.get("/v1/orders/ord_" + "1" * 32)
    assert (response.status_code, response.json_body["error"]["code"]) == (503, "STORAGE_UNAVAILABLE")


def test_storage_outage_is_503_not_500(client: SignedClient, container: bootstrap.Container) -> None:
    from pynamodb.exceptions import GetError

    def unavailable(order_key: str) -> None:
        raise GetError("Failed to get item: could not connect to the endpoint")

    container.orders.repository.get = unavailable  # type: ignore[method-assign]
    response = client.http.get("/v1/orders/ord_" + "1" * 32)
    assert (response.status_code, response.json_body["error"]["code"]) == (503, "STORAGE_UNAVAILABLE")


def test_an_over_limit_body_is_413_payload_too_large(client: SignedClient) -> None:
    # GIVEN a body one byte over the 64 KiB the API reads
    from chalicelib.api.http import MAX_BODY_BYTES

    raw = json.dumps(body()).ljust(MAX_BODY_BYTES + 1)
    # WHEN it is posted THEN the answer names the limit, not a validation failure
    response = post(client, None, raw=raw)
    assert (response.status_code, response.json_body["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert str(MAX_BODY_BYTES) in response.json_body["error"]["message"]


def test_a_body_at_the_limit_is_read(client: SignedClient) -> None:
    from chalicelib.api.http import MAX_BODY_BYTES

    raw = json.dumps(body()).ljust(MAX_BODY_BYTES)  # trailing blanks are valid JSON
    assert post(client, None, raw=raw).status_code == 202


@pytest.fixture
def unconfigured(chalice_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[SignedClient]:
    """The app as a bare `chalice local` runs it: no partner URL in the environment, no container built,
    and the process has not reported the missing settings yet."""
    from chalicelib.api import http
    from chalicelib.settings import PARTNER_URL_VARIABLES

    for variable in PARTNER_URL_VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    bootstrap.use_container(None)
    http._report_misconfiguration.cache_clear()
    with signed(chalice_module) as c:
        yield c
    bootstrap.use_container(None)


def test_without_configuration_every_route_says_what_is_missing_on_one_log_line(
    unconfigured: Client, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN `chalice local` started without the local stage: no partner URL, no token issuer
    from chalicelib.settings import PARTNER_URL_VARIABLES

    # WHEN routes are called, each twice
    with caplog.at_level("ERROR", logger="ame.api"):
        health = [unconfigured.http.get("/v1/health") for _ in range(2)]
        orders = [unconfigured.http.get("/v1/orders/ord_x") for _ in range(2)]
    # THEN every 503 names what is missing and how to run it locally: the partners for the public
    # health route, the token issuers first for a route that needs a caller
    for response in health + orders:
        assert response.status_code == 503
        error = response.json_body["error"]
        assert error["code"] == "SERVICE_UNAVAILABLE"
        assert "chalice local --stage local" in error["message"]
    assert all(variable in health[0].json_body["error"]["message"] for variable in PARTNER_URL_VARIABLES.values())
    assert "AME_TOKEN_ISSUERS" in orders[0].json_body["error"]["message"]
    # AND the log says each problem once, at the first request, at error level, with the fix, no traceback
    records = [r for r in caplog.records if r.name == "ame.api"]
    assert [(r.levelname, r.exc_info) for r in records] == [("ERROR", None), ("ERROR", None)]
    assert "AME_PARAMETRIZER_URL" in records[0].getMessage()
    assert "AME_TOKEN_ISSUERS" in records[1].getMessage()
    assert all("chalice local --stage local" in r.getMessage() for r in records)


def test_an_unreadable_setting_is_named_without_its_value(
    unconfigured: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN every partner URL, and a number that is not one
    from chalicelib.settings import PARTNER_URL_VARIABLES

    for variable in PARTNER_URL_VARIABLES.values():
        monkeypatch.setenv(variable, "http://partners.invalid")
    monkeypatch.setenv("AME_WORKER_THREADS", "sixteen-secret")
    # WHEN a route is called THEN the 503 names the variable, and never echoes what it holds
    error = unconfigured.http.get("/v1/health").json_body["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE" and "AME_WORKER_THREADS is not an integer" in error["message"]
    assert "sixteen-secret" not in error["message"]
