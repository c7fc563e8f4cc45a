"""HTTP routes about the service itself rather than an area."""

from __future__ import annotations

import os

from chalice.app import Blueprint, Response

from chalicelib.api import openapi
from chalicelib.api.http import api_errors, json_response
from chalicelib.bootstrap import container
from chalicelib.failover import ensure_serving

routes = Blueprint(__name__)


@routes.route("/v1/health", methods=["GET"])
@api_errors
def health() -> Response:
    """What Route 53 checks: 503 while this primary is fenced (the standby took over) or DynamoDB or
    SQS does not answer here, so a regional impairment of either fails the region over too."""
    c = container()
    ensure_serving(c.region_switch, c.health)
    return json_response({"status": "ok", "region": c.settings.region, "role": c.settings.role})


@routes.route("/v1/openapi.json", methods=["GET"])
@api_errors
def openapi_document() -> Response:
    """The published contract (public): every route, schema, error and scope; built once per process."""
    return json_response(openapi.document_text(openapi.token_url_from(os.environ)))  # JSON text, sent as is
