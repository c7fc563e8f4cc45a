"""Routes for signature orders and the envelope-assembly queue handler."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypedDict

from chalice.app import Request, Response

from chalicelib.api.http import json_response, read_json
from chalicelib.bootstrap import container
from chalicelib.errors import DomainError, ValidationFailed
from chalicelib.orders import services
from chalicelib.orders.errors import OrderNotFound
from chalicelib.orders.requests import parse_order_request
from chalicelib.orders.wire import order_to_wire

log = logging.getLogger("ame.api")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_ORDER_KEY = re.compile(r"^ord_[0-9a-f]{32}$")


def read_idempotency_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("idempotency-key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise ValidationFailed("Idempotency-Key must be 1-128 visible ASCII characters", field="Idempotency-Key")
    return key


def create_order(request: Request | None) -> Response:
    assert request is not None, "Chalice always sets current_request inside a route"
    command = services.CreateOrder(parse_order_request(read_json(request)), read_idempotency_key(request.headers))
    c = container()
    accepted = services.create_order(command, c.partners, c.repository, c.queue, c.executor, c.clock, c.new_order_key)
    log.info("order accepted", extra={"order_key": accepted.order_key, "replayed": accepted.replayed})
    body = {"order_key": accepted.order_key, "status": "PROCESSING"}
    return json_response(body, 202, {"Location": f"/v1/orders/{accepted.order_key}"})


def get_order(order_key: str) -> Response:
    if not _ORDER_KEY.match(order_key):
        raise OrderNotFound(f"order '{order_key[:40]}' not found")
    order = services.get_order(order_key, container().repository)
    return json_response(order_to_wire(order))


def health() -> Response:
    """What Route 53 checks: 503 while an operator or a drill holds the region out of service."""
    c = container()
    serving = c.region_switch.in_service()
    body = {"status": "ok" if serving else "out_of_service", "region": c.settings.region, "role": c.settings.role}
    return json_response(body, 200 if serving else 503)


def sweep_stuck_orders() -> dict[str, Any]:
    c = container()
    command = services.SweepStuckOrders(c.settings.region, c.settings.sweep_after)
    result = services.sweep_stuck_orders(command, c.repository, c.queue, c.region_switch, c.traffic_probe, c.clock)
    return {"active": result.active, "requeued": len(result.requeued)}


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
            detail = exc.message if isinstance(exc, DomainError) else type(exc).__name__
            log.warning(
                "envelope request failed; left for redelivery",
                extra={"message_id": raw.get("messageId"), "attempt": attempt, "error": detail},
                exc_info=not isinstance(exc, DomainError),
            )
            failures.append({"itemIdentifier": raw["messageId"]})
    return {"batchItemFailures": failures}
