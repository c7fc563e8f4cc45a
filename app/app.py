"""ame-platform API and queue handlers. Routes only delegate (see chalicelib.api)."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, Rate, Response

from chalicelib.api import credit, orders
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


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep_stuck_orders(event: Any) -> dict[str, Any]:
    return orders.sweep_stuck_orders()


@app.on_sqs_message(queue=ENVELOPE_REQUESTS_QUEUE, batch_size=10)
def assemble_envelopes(event: Any) -> orders.BatchResponse:
    return orders.assemble_envelopes(event)


@app.route("/v1/customers/{cpf}", methods=["PUT"])
@api_errors
def put_customer(cpf: str) -> Response:
    return credit.put_customer(cpf, app.current_request)


@app.route("/v1/customers/{cpf}", methods=["GET"])
@api_errors
def get_customer(cpf: str) -> Response:
    return credit.get_customer(cpf)


@app.route("/v1/customers/{cpf}/decisions", methods=["GET"])
@api_errors
def customer_decisions(cpf: str) -> Response:
    return credit.customer_decisions(cpf, app.current_request)


@app.route("/v1/credit/decisions", methods=["POST"])
@api_errors
def decide_credit() -> Response:
    return credit.decide(app.current_request)


@app.route("/v1/credit/decisions/{decision_id}", methods=["GET"])
@api_errors
def get_credit_decision(decision_id: str) -> Response:
    return credit.get_decision(decision_id)


@app.route("/v1/credit/policies/active", methods=["GET"])
@api_errors
def active_credit_policy() -> Response:
    return credit.active_policy()
