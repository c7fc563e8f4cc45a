"""HTTP routes about the service itself rather than an area."""

from __future__ import annotations

import os

from chalice.app import Blueprint, Response

from chalicelib.api import openapi
from chalicelib.api.http import api_errors, json_response
from chalicelib.bootstrap import container

routes = Blueprint(__name__)


@routes.route("/v1/health", methods=["GET"])
@api_errors
def health() -> Response:
    """What Route 53 checks: 503 while an operator or a drill holds the region out of service."""
    c = container()
    serving = c.region_switch.in_service()
    body = {"status": "ok" if serving else "out_of_service", "region": c.settings.region, "role": c.settings.role}
    return json_response(body, 200 if serving else 503)


@routes.route("/v1/openapi.json", methods=["GET"])
@api_errors
def openapi_document() -> Response:
    """The published contract (public): every route, schema, error and scope; built once per process."""
    return json_response(openapi.document_text(openapi.token_url_from(os.environ)))  # JSON text, sent as is
