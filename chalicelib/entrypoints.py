"""Glue between Chalice and the use cases: parse input, call the service, shape the answer.

Kept here (not in app.py) because Chalice packages only app.py and chalicelib/; app.py
stays a list of five-line routes.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, Protocol, TypedDict

from chalice.app import Request, Response

from chalicelib.bootstrap import container
from chalicelib.orders import services
from chalicelib.orders.errors import (
    IdempotencyConflict,
    InvalidDocumentError,
    OrderError,
    OrderNotFound,
    OrderRejected,
    PartnerUnavailable,
    QueueUnavailable,
    ValidationFailed,
)
from chalicelib.orders.requests import parse_order_request
from chalicelib.orders.wire import order_to_wire
from chalicelib.settings import ConfigurationError

log = logging.getLogger("ame.api")
P = ParamSpec("P")

MAX_BODY_BYTES = 64 * 1024
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_ORDER_KEY = re.compile(r"^ord_[0-9a-f]{32}$")

ERROR_STATUS: dict[type[OrderError], int] = {
    ValidationFailed: 400,
    InvalidDocumentError: 400,
    OrderNotFound: 404,
    IdempotencyConflict: 409,
    OrderRejected: 422,
    PartnerUnavailable: 503,
    QueueUnavailable: 503,
}


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    error: dict[str, str] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return Response(body={"error": error}, status_code=status, headers={"Content-Type": "application/json"})


def api_errors(view: Callable[P, Response]) -> Callable[P, Response]:
    """Every failure leaves as the documented error shape; nothing leaks a stack trace."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return view(*args, **kwargs)
        except OrderError as exc:
            status = ERROR_STATUS.get(type(exc), 400)
            if status >= 500:
                log.warning("request failed: %s", exc.message, extra={"code": exc.code})
            return error_response(status, exc.code, exc.message, exc.field)
        except ConfigurationError:
            log.exception("service misconfigured")
            return error_response(503, "SERVICE_UNAVAILABLE", "the service is not configured")
        except Exception:
            log.exception("unexpected error")
            return error_response(500, "INTERNAL_ERROR", "unexpected error; the request was not completed")

    return wrapper


def read_json(raw_body: bytes | None) -> Any:
    if not raw_body:
        raise ValidationFailed("request body is required")
    if len(raw_body) > MAX_BODY_BYTES:
        raise ValidationFailed(f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed("request body is not valid JSON") from None


def read_idempotency_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("idempotency-key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise ValidationFailed("Idempotency-Key must be 1-128 visible ASCII characters", field="Idempotency-Key")
    return key


def create_order(request: Request | None) -> Response:
    assert request is not None, "Chalice always sets current_request inside a route"
    raw_body = request.raw_body.encode() if isinstance(request.raw_body, str) else request.raw_body
    command = services.CreateOrder(parse_order_request(read_json(raw_body)), read_idempotency_key(request.headers))
    c = container()
    accepted = services.create_order(command, c.partners, c.repository, c.queue, c.executor, c.clock, c.new_order_key)
    log.info("order accepted", extra={"order_key": accepted.order_key, "replayed": accepted.replayed})
    return Response(
        body={"order_key": accepted.order_key, "status": "PROCESSING"},
        status_code=202,
        headers={"Location": f"/v1/orders/{accepted.order_key}", "Content-Type": "application/json"},
    )


def get_order(order_key: str) -> Response:
    if not _ORDER_KEY.match(order_key):
        raise OrderNotFound(f"order '{order_key[:40]}' not found")
    order = services.get_order(order_key, container().repository)
    return Response(body=order_to_wire(order), status_code=200, headers={"Content-Type": "application/json"})


def health() -> Response:
    settings = container().settings
    return Response(body={"status": "ok", "region": settings.region, "role": settings.role}, status_code=200)


class SqsRecord(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


def assemble_envelopes(records: Iterable[SqsRecord]) -> BatchResponse:
    """One record failing never fails its neighbours: it is reported back for redelivery."""
    c = container()
    failures: list[BatchItemFailure] = []
    for record in records:
        raw = record.to_dict()
        attempt = int(raw.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            order_key = str(json.loads(raw["body"])["order_key"])
            command = services.AssembleEnvelope(order_key, attempt, c.settings.max_receive_count)
            order = services.assemble_envelope(command, c.partners, c.repository, c.publisher, c.executor, c.clock)
            log.info("envelope assembled", extra={"order_key": order_key, "status": order.status.value})
        except Exception as exc:
            detail = exc.message if isinstance(exc, OrderError) else type(exc).__name__
            log.warning(
                "envelope request failed; left for redelivery",
                extra={"message_id": raw.get("messageId"), "attempt": attempt, "error": detail},
                exc_info=not isinstance(exc, OrderError),
            )
            failures.append({"itemIdentifier": raw["messageId"]})
    return {"batchItemFailures": failures}
