"""Error shape, status mapping and body parsing shared by every route."""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec

from chalice.app import Request, Response

from chalicelib.api.gateway import WWW_AUTHENTICATE
from chalicelib.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidDocumentError,
    NotFound,
    PartnerUnavailable,
    PayloadTooLarge,
    Rejected,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from chalicelib.orders.claim_check import ClaimCheckError
from chalicelib.settings import REGION_HEADER, ConfigurationError, region_from

log = logging.getLogger("ame.api")
P = ParamSpec("P")

MAX_BODY_BYTES = 64 * 1024
LOCAL_FIX = "locally: chalice local --stage local, or make run"
"""Where the settings come from on a laptop; in AWS the Pulumi stacks set every one."""
JSON = {"Content-Type": "application/json"}

STATUS_BY_KIND: dict[type[DomainError], int] = {
    ValidationFailed: 400,
    InvalidDocumentError: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    Rejected: 422,
    PartnerUnavailable: 503,
    ServiceUnavailable: 503,
}


def status_for(error: DomainError) -> int:
    return next((STATUS_BY_KIND[k] for k in type(error).__mro__ if k in STATUS_BY_KIND), 400)


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={**JSON, **(headers or {})})


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    error: dict[str, str] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return json_response({"error": error}, status)


def api_errors(view: Callable[P, Response]) -> Callable[P, Response]:
    """Every failure leaves as the documented error shape; nothing leaks a stack trace."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        response = _answer(view, *args, **kwargs)
        response.headers[REGION_HEADER] = region_from(os.environ)
        return response

    return wrapper


def _answer(view: Callable[P, Response], *args: P.args, **kwargs: P.kwargs) -> Response:
    try:
        return view(*args, **kwargs)
    except DomainError as exc:
        status = status_for(exc)
        if status >= 500:
            log.warning("request failed: %s", exc.message, extra={"code": exc.code})
        response = error_response(status, exc.code, exc.message, exc.field)
        if status == 401:
            response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
        return response
    except ConfigurationError as exc:
        _report_misconfiguration(str(exc))
        return error_response(503, "SERVICE_UNAVAILABLE", f"the service is not configured: {exc} ({LOCAL_FIX})")
    except Exception as exc:
        if _from_aws_client(exc):
            log.exception("storage or queue call failed")
            return error_response(503, "STORAGE_UNAVAILABLE", "storage is unavailable; retry later")
        log.exception("unexpected error")
        return error_response(500, "INTERNAL_ERROR", "unexpected error; the request was not completed")


@functools.cache
def _report_misconfiguration(problem: str) -> None:
    """One line, at the first request that finds it: the cause is a setting, not a stack, and every
    request after it would repeat the same line."""
    log.error("service misconfigured: %s (%s)", problem, LOCAL_FIX)


def _from_aws_client(exc: Exception) -> bool:
    """A DynamoDB/SQS failure is an outage to retry, not a bug; told by module so importing
    this file does not load botocore (cold starts stay short). So is a claim-check object not there
    yet: in dr, S3 replicates it up to 15 minutes after DynamoDB replicates the item naming it."""
    if isinstance(exc, ClaimCheckError):
        return True
    return any(kind.__module__.split(".")[0] in ("pynamodb", "botocore") for kind in type(exc).__mro__)


def query_params(request: Request | None) -> Mapping[str, str]:
    return (request.query_params if request else None) or {}


def read_json(request: Request | None) -> Any:
    assert request is not None, "Chalice always sets current_request inside a route"
    raw = request.raw_body.encode() if isinstance(request.raw_body, str) else request.raw_body
    if not raw:
        raise ValidationFailed("request body is required")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed("request body is not valid JSON") from None
    except RecursionError:  # thousands of '[' fit in a small body; the parser recurses once per level
        raise ValidationFailed("request body is nested too deeply to be a request of this API") from None
