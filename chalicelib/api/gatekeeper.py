"""The one place every HTTP request passes before its route (a Chalice middleware, so it runs the
same under `chalice local`, the local stack and Lambda): the route must be in the catalog, its
token valid and its scope granted; the caller is then what the route's use case sees.

Unmatched routes and methods, missing or bad tokens and missing scopes all answer in the app's
error shape, never saying which check failed beyond the status (the reason goes to our log).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from chalice.app import Request, Response

from chalicelib.api.catalog import Action, RouteSpec, route_spec
from chalicelib.api.gateway import FORBIDDEN, ROUTE_NOT_FOUND, UNAUTHENTICATED, UNSUPPORTED_MEDIA_TYPE, GatewayAnswer
from chalicelib.api.http import api_errors, json_response
from chalicelib.audit.services import audit_request
from chalicelib.bootstrap import audit_trail, container, token_verifier
from chalicelib.clock import utc_now
from chalicelib.errors import Forbidden, RegionFenced, Unauthenticated
from chalicelib.failover import FENCED_MESSAGE
from chalicelib.identity.model import Caller, TokenRejected
from chalicelib.settings import ConfigurationError, region_from

log = logging.getLogger("ame.api")

_caller: ContextVar[Caller | None] = ContextVar("caller", default=None)

ResponseFor = Callable[[Request], Response]


def current_caller() -> Caller:
    """The verified caller of the request being served; outside the gatekeeper nobody is (fail closed)."""
    caller = _caller.get()
    if caller is None:
        raise Unauthenticated(UNAUTHENTICATED.message)
    return caller


def gatekeeper(request: Request, get_response: ResponseFor) -> Response:
    spec = route_spec(request.method, request.path)
    callers: list[Caller] = []
    response = admit(request, get_response, callers)
    if spec is not None and spec.personal_data:
        record_access(spec, callers[0] if callers else None, request, response)
    return response


@api_errors
def admit(request: Request, get_response: ResponseFor, callers: list[Caller]) -> Response:
    """The checks and the route, every failure in the app's error shape; `callers` receives who called."""
    spec = route_spec(request.method, request.path)
    if spec is None:
        return answer(ROUTE_NOT_FOUND)
    if spec.scope is None:
        return in_house_style(get_response(request))
    caller = authenticate(request)
    callers.append(caller)
    if not caller.may(spec.scope):
        log.info("scope refused", extra={"client_id": caller.client_id, "operation": spec.operation_id})
        raise Forbidden(FORBIDDEN.message)
    if spec.action is not Action.READ and not container().region_switch.in_service():
        raise RegionFenced(FENCED_MESSAGE)  # a taken-over primary writes nothing; reads still answer
    token = _caller.set(caller)
    try:
        return in_house_style(get_response(request))
    finally:
        _caller.reset(token)


def record_access(spec: RouteSpec, caller: Caller | None, request: Request, response: Response) -> None:
    """One audit record per personal-data request, refused ones included. A request the service could
    not serve for want of configuration (503) touched no data and has no key to hash with: skipped."""
    try:
        key = container().keys.audit_subject
    except ConfigurationError:
        return
    request_id = request.context.get("requestId") or getattr(request.lambda_context, "aws_request_id", None)
    audit_request(audit_trail(), key, spec, caller, request, response, request_id, utc_now(), region_from(os.environ))


def authenticate(request: Request) -> Caller:
    try:
        return token_verifier().verify(request.headers.get("authorization"))
    except TokenRejected as exc:
        log.info("token refused: %s", exc)
        raise Unauthenticated(UNAUTHENTICATED.message) from None


def answer(gateway_answer: GatewayAnswer) -> Response:
    return json_response(gateway_answer.body(), gateway_answer.status)


def in_house_style(response: Response) -> Response:
    """Chalice answers a wrong method (405) and a non-JSON body (415) in its own shape; ours instead.
    (API Gateway never forwards a wrong method: its gateway response answers ROUTE_NOT_FOUND.)"""
    code = _chalice_error_code(response.body)
    if code == "UnsupportedMediaType":
        return answer(UNSUPPORTED_MEDIA_TYPE)
    if code == "MethodNotAllowedError":
        return answer(ROUTE_NOT_FOUND)
    return response


def _chalice_error_code(body: Any) -> str | None:
    return body.get("Code") if isinstance(body, dict) and isinstance(body.get("Code"), str) else None
