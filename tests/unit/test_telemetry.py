"""Telemetry: the correlation id from the POST to the partner calls, masked Powertools logs, EMF metrics."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import threading
import uuid
from types import ModuleType
from typing import Any

import pytest
import requests
import urllib3

from chalicelib import bootstrap, correlation, telemetry
from chalicelib.adapters.http_partners import HttpSettings, PartnerClient
from chalicelib.adapters.powertools import EmfBackend, MaskedJsonFormatter, logger, tracing_wanted
from chalicelib.adapters.sqs import SqsEnvelopePublisher, SqsEnvelopeQueue
from chalicelib.credit.model import BureauScore
from chalicelib.events.observed import flushed
from chalicelib.logs import MaskingFilter
from chalicelib.orders.model import Signatory, SignerNotice
from chalicelib.quorum.model import Contact, Role
from chalicelib.settings import ConfigurationError
from devstack.simulator import make_server
from tests.unit.builders import cpf
from tests.unit.credit.test_api import CPF, decision_body, send
from tests.unit.test_api import post, sqs_event
from tests.unit.test_services import body
from tests.unit.tokens import signed

SECRETS = ["529.982.247-25", "52998224725", "11.222.333/0001-81", "11222333000181", "ana.souza@acme.com.br"]
SECRETS += ["+55 11 98765-4321", "(11) 3456-7890"]


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> telemetry.Capturing:
    backend = telemetry.Capturing()
    monkeypatch.setattr(telemetry, "_backend", backend)
    return backend


def powertools_lines(service: str, emit: Any) -> list[dict[str, Any]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    log = logger(handler, "INFO", MaskedJsonFormatter(service), service=service)
    emit(log)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("secret", SECRETS)
def test_personal_data_logged_through_the_powertools_logger_comes_out_masked(secret: str) -> None:
    def emit(log: Any) -> None:
        log.info(f"signer {secret}", extra={"contact": secret, "nested": {"doc": secret}})
        try:
            raise ValueError(f"bad {secret}")
        except ValueError:
            log.exception("failed")

    lines = powertools_lines(f"ame-test-{uuid.uuid4().hex[:8]}", emit)
    assert len(lines) == 2
    assert all(secret not in json.dumps(line) for line in lines)
    assert lines[0]["message"].startswith("signer [") and lines[1]["error"].endswith("]")


def test_log_lines_keep_the_documented_shape_and_carry_the_bound_ids() -> None:
    def emit(log: Any) -> None:
        log.info("outside")
        with correlation.bound("req-abc-def-42", "ord_4f1234567890123abcdef0123456789a"):
            log.info("inside", extra={"attempt": 2})

    service = f"ame-test-{uuid.uuid4().hex[:8]}"
    outside, inside = powertools_lines(service, emit)
    assert list(outside)[:5] == ["time", "level", "logger", "message", "service"]
    assert outside["service"] == service and "correlation_id" not in outside and outside["time"].endswith("+00:00")
    assert inside["correlation_id"] == "req-abc-def-42"
    assert inside["order_key"] == "ord_4f1234567890123abcdef0123456789a" and inside["attempt"] == 2


def test_the_emf_backend_writes_one_document_per_dimension_set_with_rollups_then_forgets_them() -> None:
    stream = io.StringIO()
    backend = EmfBackend(stream=stream)
    backend.add("OrdersDecided", 1, "Count", {"verdict": "FAILED", "reason": "PARTNER_UNAVAILABLE"})
    backend.add("OrdersDecided", 1, "Count", {"verdict": "FAILED", "reason": "PARTNER_UNAVAILABLE"})
    backend.add("PartnerLatency", 12.5, "Milliseconds", {"partner": "powers"})
    backend.flush()
    decided, latency = (json.loads(line) for line in stream.getvalue().splitlines())
    metrics = decided["_aws"]["CloudWatchMetrics"][0]
    assert metrics["Namespace"] == "AME/Platform"
    assert metrics["Metrics"] == [{"Name": "OrdersDecided", "Unit": "Count"}]
    assert sorted(map(sorted, metrics["Dimensions"])) == [
        ["reason", "service", "verdict"],
        ["service"],
        ["service", "verdict"],
    ]
    assert (decided["service"], decided["verdict"], decided["OrdersDecided"]) == ("ame-platform", "FAILED", [1, 1])
    assert latency["PartnerLatency"] == [12.5] and latency["partner"] == "powers"
    backend.flush()
    assert len(stream.getvalue().splitlines()) == 2


def test_handlers_flush_the_metrics_even_when_they_raise(captured: telemetry.Capturing) -> None:
    @flushed
    def failing() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing()
    assert captured.flushes == 1


def test_the_context_executor_carries_the_correlation_id_into_its_threads() -> None:
    with correlation.ContextExecutor(max_workers=2) as pool, correlation.bound("req-abc-def-42", "ord_x"):
        seen = pool.submit(lambda: (correlation.current(), correlation.order_key())).result()
    assert seen == ("req-abc-def-42", "ord_x")
    assert correlation.current() is None


class RecordingPool:
    """The urllib3 pool partner calls go through, keeping each call's headers."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        self.headers.append(kwargs.get("headers") or {})
        return urllib3.HTTPResponse(body=b"{}", status=200, preload_content=True)


def test_partner_calls_send_the_correlation_id_header() -> None:
    pool = RecordingPool()
    client = PartnerClient("powers", "http://partners.invalid", pool, HttpSettings())  # type: ignore[arg-type]
    client.get_json("/x")
    client.post_json("/people/batch", {"cpfs": []})
    with correlation.bound("req-abc-def-42"):
        client.get_json("/x")
        client.post_json("/people/batch", {"cpfs": []})
    assert pool.headers == [{}, {}, {"X-Correlation-Id": "req-abc-def-42"}, {"X-Correlation-Id": "req-abc-def-42"}]


class RecordingSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.extend(kwargs["Entries"])
        return {}


class FixedAddress:
    name = "ame-envelope-requests"
    url = "http://sqs.invalid/ame-envelope-requests"


def test_the_request_message_carries_the_correlation_id_attribute() -> None:
    sqs = RecordingSqs()
    with correlation.bound("req-abc-def-42"):
        SqsEnvelopeQueue(sqs, FixedAddress()).enqueue("ord_1")  # type: ignore[arg-type]
    attributes = sqs.sent[0]["MessageAttributes"]
    assert attributes["correlation_id"] == {"DataType": "String", "StringValue": "req-abc-def-42"}
    record = {"messageAttributes": {"correlation_id": {"stringValue": "req-abc-def-42", "dataType": "String"}}}
    assert correlation.from_record(record) == "req-abc-def-42"


def test_signer_notices_carry_the_correlation_id_beside_their_dedup_id() -> None:
    sqs = RecordingSqs()
    notice = SignerNotice("ord_1", cpf(1), Contact("Ana", "ana@x.com"), (Signatory(Role.GUARANTOR, cpf(1)),))
    publisher = SqsEnvelopePublisher(sqs, FixedAddress(), FixedAddress())  # type: ignore[arg-type]
    with correlation.bound("req-abc-def-42"):
        publisher.notify_signers([notice])
    attributes = sqs.sent[0]["MessageAttributes"]
    assert attributes["dedup_id"]["StringValue"] == notice.dedup_id
    assert attributes["correlation_id"]["StringValue"] == "req-abc-def-42"


@pytest.mark.parametrize(
    ("given", "kept"),
    [("req-abc-def-42", True), ("short", False), ("has spaces in it", False), ("cpf-52998224725", False)],
)
def test_a_callers_correlation_id_is_kept_only_when_it_is_a_plain_token(given: str, kept: bool) -> None:
    assert (correlation.accepted(given) == given) is kept


def test_the_post_answers_its_correlation_id_and_counts_the_order_once(
    chalice_module: ModuleType, container: bootstrap.Container, captured: telemetry.Capturing
) -> None:
    with signed(chalice_module) as client:
        headers = {"Content-Type": "application/json", "Idempotency-Key": "k-1", "X-Correlation-Id": "trace-abc-123"}
        first = client.http.post("/v1/orders", headers=headers, body=json.dumps(body()))
        again = client.http.post("/v1/orders", headers=headers, body=json.dumps(body()))
        generated = post(client, body())
    assert first.headers["X-Correlation-Id"] == again.headers["X-Correlation-Id"] == "trace-abc-123"
    assert generated.headers["X-Correlation-Id"] and generated.headers["X-Correlation-Id"] != "trace-abc-123"
    assert captured.counted("OrdersAccepted") == 2 and captured.flushes == 3
    assert captured.calls[0][3] == {"area": "AREA-CREDIT"}


def test_the_worker_binds_the_messages_correlation_id_else_the_order_key(
    chalice_module: ModuleType, container: bootstrap.Container
) -> None:
    seen: list[tuple[str | None, str | None]] = []

    class Orders:
        def assemble(self, command: object) -> None:
            seen.append((correlation.current(), correlation.order_key()))

    bootstrap.use_container(dataclasses.replace(container, orders=Orders()))  # type: ignore[arg-type]
    event = sqs_event(json.dumps({"order_key": "ord_a"}), json.dumps({"order_key": "ord_b"}))
    event["Records"][0]["messageAttributes"] = {
        "correlation_id": {"stringValue": "req-abc-def-42", "dataType": "String"}
    }
    chalice_module.assemble_envelopes(event, None)
    assert sorted(seen) == [("ord_b", "ord_b"), ("req-abc-def-42", "ord_a")]


def test_credit_decisions_are_counted_by_outcome_and_band(
    chalice_module: ModuleType, container: bootstrap.Container, captured: telemetry.Capturing
) -> None:
    container.credit.bureau.scores[CPF] = BureauScore(870, container.credit.clock().date())  # type: ignore[attr-defined]
    with signed(chalice_module) as client:
        send(client, "put", f"/v1/customers/{CPF}", {"monthly_income": "8000.00", "existing_debts": "0"})
        response = send(client, "post", "/v1/credit/decisions", decision_body())
    assert response.status_code == 201
    (call,) = [c for c in captured.calls if c[0] == "CreditDecisions"]
    evaluation = response.json_body
    assert call[3]["outcome"] == evaluation["outcome"] and set(call[3]) == {"outcome", "band"}


@pytest.mark.parametrize(
    ("env", "metrics", "tracing"),
    [
        ({}, False, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f"}, True, True),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f", "POWERTOOLS_TRACE_DISABLED": "true", "AME_METRICS": "off"}, False, False),
        ({"AME_METRICS": "emf"}, True, False),
    ],
)
def test_emf_and_xray_are_on_in_lambda_and_can_be_turned_off(env: dict[str, str], metrics: bool, tracing: bool) -> None:
    assert bootstrap.metrics_backend_wanted(env) is metrics
    assert tracing_wanted(env) is tracing


def test_an_unknown_metrics_setting_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="AME_METRICS"):
        bootstrap.metrics_backend_wanted({"AME_METRICS": "statsd"})


def test_the_partner_simulator_logs_each_calls_correlation_id_and_route_without_documents(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/people/52998224725"
        with caplog.at_level(logging.INFO, logger="ame.partners"):
            requests.get(url, headers={"X-Correlation-Id": "req-abc-def-42"}, timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    (record,) = [r for r in caplog.records if r.name == "ame.partners"]
    assert (record.correlation_id, record.route, record.method) == ("req-abc-def-42", "/people/{doc}", "GET")  # type: ignore[attr-defined]
