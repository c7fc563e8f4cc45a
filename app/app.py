"""ame-platform API and queue handlers. Routes only delegate (see chalicelib.api)."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, Response

from chalicelib.api import orders
from chalicelib.api.http import api_errors
from chalicelib.settings import ENVELOPE_REQUESTS_QUEUE

app = Chalice(app_name="ame-platform")


@app.route("/v1/orders", methods=["POST"])
@api_errors
def create_order() -> Response:
    return orders.create_order(app.current_request)


@app.route("/v1/orders/{order_key}", methods=["GET"])
@api_errors
def get_order(order_key: str) -> Response:
    return orders.get_order(order_key)


@app.route("/v1/health", methods=["GET"])
@api_errors
def health() -> Response:
    return orders.health()


@app.on_sqs_message(queue=ENVELOPE_REQUESTS_QUEUE, batch_size=10)
def assemble_envelopes(event: Any) -> orders.BatchResponse:
    return orders.assemble_envelopes(event)
