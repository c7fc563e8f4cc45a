"""HTTP routes for signature orders: parse, call the service, shape the answer."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.gatekeeper import current_caller
from chalicelib.api.http import api_errors, json_response, read_json
from chalicelib.api.observed import order_accepted
from chalicelib.bootstrap import container
from chalicelib.orders.requests import parse_create_order, parse_order_key
from chalicelib.orders.wire import order_to_wire

routes = Blueprint(__name__)


@routes.route("/v1/orders", methods=["POST"])
@api_errors
def create_order() -> Response:
    request = routes.current_request
    accepted = order_accepted(
        container().orders.create(parse_create_order(read_json(request), request.headers), current_caller())
    )
    body = {"order_key": accepted.order_key, "status": "PROCESSING"}
    return json_response(body, 202, {"Location": f"/v1/orders/{accepted.order_key}"})


@routes.route("/v1/orders/{order_key}", methods=["GET"])
@api_errors
def get_order(order_key: str) -> Response:
    return json_response(order_to_wire(container().orders.get(parse_order_key(order_key), current_caller())))
