"""Routes for customers, credit decisions and the active credit policy."""

from __future__ import annotations

import re
from collections.abc import Mapping

from chalice.app import Request, Response

from chalicelib.api.http import json_response, read_json
from chalicelib.bootstrap import container
from chalicelib.credit import services
from chalicelib.credit.model import CustomerProfile
from chalicelib.credit.requests import parse_decision_request, parse_limit, parse_profile
from chalicelib.payloads import parse_cpf

_DECISION_ID = re.compile(r"^dec_[0-9a-f]{32}$")


def _profile(profile: CustomerProfile) -> dict[str, str]:
    return {
        "cpf": profile.cpf,
        "monthly_income": str(profile.monthly_income),
        "existing_debts": str(profile.existing_debts),
        "updated_at": profile.updated_at.isoformat(),
    }


def put_customer(raw_cpf: str, request: Request | None) -> Response:
    cpf = parse_cpf(raw_cpf)
    income, debts = parse_profile(read_json(request))
    c = container()
    return json_response(_profile(services.put_profile(cpf, income, debts, c.credit.store, c.clock)))


def get_customer(raw_cpf: str) -> Response:
    return json_response(_profile(services.get_profile(parse_cpf(raw_cpf), container().credit.store)))


def decide(request: Request | None) -> Response:
    command = parse_decision_request(read_json(request))
    c = container()
    decision = services.decide_credit(
        command, c.credit.policies, c.credit.bureau, c.credit.store, c.clock, c.credit.new_decision_id
    )
    return json_response(decision, 201, {"Location": f"/v1/credit/decisions/{decision['decision_id']}"})


def get_decision(decision_id: str) -> Response:
    if not _DECISION_ID.match(decision_id):
        raise services.DecisionNotFound(f"decision '{decision_id[:40]}' not found")
    return json_response(services.get_decision(decision_id, container().credit.store))


def customer_decisions(raw_cpf: str, request: Request | None) -> Response:
    cpf = parse_cpf(raw_cpf)
    query: Mapping[str, str] = (request.query_params if request else None) or {}
    limit, cursor = parse_limit(query.get("limit")), query.get("cursor")
    items, next_cursor = container().credit.store.customer_decisions(cpf.digits, limit, cursor)
    return json_response({"items": items, "next_cursor": next_cursor})


def active_policy() -> Response:
    policy = container().credit.policies.active().policy
    body = {"id": policy.policy_id, "version": policy.version, "hash": policy.hash, "document": policy.document}
    return json_response(body)
