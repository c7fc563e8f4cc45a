"""HTTP routes for customers, credit decisions and the active credit policy."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.http import api_errors, json_response, query_params, read_json
from chalicelib.api.observed import credit_decided
from chalicelib.bootstrap import container
from chalicelib.credit.requests import parse_decision_id, parse_decision_request, parse_list_decisions, parse_profile
from chalicelib.credit.wire import decision_to_wire, page_to_wire, policy_to_wire, profile_to_wire
from chalicelib.payloads import parse_cpf

routes = Blueprint(__name__)


@routes.route("/v1/customers/{cpf}", methods=["PUT"])
@api_errors
def put_customer(cpf: str) -> Response:
    command = parse_profile(cpf, read_json(routes.current_request))
    return json_response(profile_to_wire(container().credit.put_profile(command)))


@routes.route("/v1/customers/{cpf}", methods=["GET"])
@api_errors
def get_customer(cpf: str) -> Response:
    return json_response(profile_to_wire(container().credit.get_profile(parse_cpf(cpf))))


@routes.route("/v1/customers/{cpf}/decisions", methods=["GET"])
@api_errors
def customer_decisions(cpf: str) -> Response:
    query = parse_list_decisions(cpf, query_params(routes.current_request))
    return json_response(page_to_wire(container().credit.list_decisions(query)))


@routes.route("/v1/credit/decisions", methods=["POST"])
@api_errors
def decide_credit() -> Response:
    decision = credit_decided(container().credit.decide(parse_decision_request(read_json(routes.current_request))))
    location = {"Location": f"/v1/credit/decisions/{decision.decision_id}"}
    return json_response(decision_to_wire(decision), 201, location)


@routes.route("/v1/credit/decisions/{decision_id}", methods=["GET"])
@api_errors
def get_credit_decision(decision_id: str) -> Response:
    return json_response(decision_to_wire(container().credit.get_decision(parse_decision_id(decision_id))))


@routes.route("/v1/credit/policies/active", methods=["GET"])
@api_errors
def active_credit_policy() -> Response:
    return json_response(policy_to_wire(container().credit.active_policy()))
