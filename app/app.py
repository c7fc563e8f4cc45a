"""ame-platform: what the app serves. Each area's routes live in its blueprint (chalicelib.api)."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, Rate

from chalicelib.api import credit, orders, platform
from chalicelib.api.correlate import correlate
from chalicelib.api.gatekeeper import gatekeeper
from chalicelib.events import orders as order_events
from chalicelib.events.observed import flushed
from chalicelib.settings import ENVELOPE_REQUESTS_QUEUE

app = Chalice(app_name="ame-platform")
app.register_middleware(correlate, "http")  # correlation id, X-Correlation-Id, metrics flush (api/correlate.py)
app.register_middleware(gatekeeper, "http")  # token, scope and route checks before any route (api/gatekeeper.py)
app.register_blueprint(platform.routes)  # GET /v1/health, /v1/openapi.json
app.register_blueprint(orders.routes)  # /v1/orders
app.register_blueprint(credit.routes)  # /v1/customers, /v1/credit


@app.on_sqs_message(queue=ENVELOPE_REQUESTS_QUEUE, batch_size=10)
@flushed
def assemble_envelopes(event: Any) -> order_events.BatchResponse:
    return order_events.assemble_envelopes(event, event.context)


@app.schedule(Rate(1, unit=Rate.MINUTES))
@flushed
def sweep_stuck_orders(event: Any) -> order_events.SweepReport:
    return order_events.sweep_stuck_orders()
