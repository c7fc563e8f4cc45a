"""`chalice local` answers a path no route matches as our API Gateway does: 404 ROUTE_NOT_FOUND."""

from __future__ import annotations

import json
from types import ModuleType

from chalice import local
from chalice.config import Config

from chalicelib import bootstrap
from chalicelib.api.gateway import ROUTE_NOT_FOUND
from devstack.chalice_local import handle_request


def test_an_unmatched_path_is_route_not_found_in_the_apps_shape(chalice_module: ModuleType) -> None:
    gateway = local.LocalGateway(chalice_module.app, Config())
    response = handle_request(gateway, "GET", "/v1/no-such-route", {}, None)
    assert response["statusCode"] == 404
    assert (
        json.loads(response["body"])
        == ROUTE_NOT_FOUND.body()
        == {
            "error": {
                "code": "ROUTE_NOT_FOUND",
                "message": "no route matches this method and path; see /v1/openapi.json",
            }
        }
    )


def test_a_matched_path_reaches_the_app(chalice_module: ModuleType, container: bootstrap.Container) -> None:
    gateway = local.LocalGateway(chalice_module.app, Config())
    response = handle_request(gateway, "GET", "/v1/health", {}, None)
    assert response["statusCode"] == 200 and json.loads(response["body"])["status"] == "ok"
