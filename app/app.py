"""ame-platform API and queue handlers. Routes only parse and delegate (see chalicelib.entrypoints)."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, Response

from chalicelib import entrypoints
from chalicelib.settings import ENVELOPE_REQUESTS_QUEUE

app = Chalice(app_name="ame-platform")


@app.route("/v1/orders", methods=["POST"])
@entrypoints.api_errors
def create_order() -> Response:
    return entrypoints.create_order(app.current_request)


@app.route("/v1/orders/{order_key}", methods=["GET"])
@entrypoints.api_errors
def get_order(order_key: str) -> Response:
    return entrypoints.get_order(order_key)


@app.route("/v1/health", methods=["GET"])
@entrypoints.api_errors
def health() -> Response:
    return entrypoints.health()


@app.on_sqs_message(queue=ENVELOPE_REQUESTS_QUEUE, batch_size=10)
def assemble_envelopes(event: Any) -> entrypoints.BatchResponse:
    return entrypoints.assemble_envelopes(event)
