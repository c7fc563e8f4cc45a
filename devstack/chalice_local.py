"""`chalice local` as API Gateway behaves once the stacks are deployed.

Chalice's local gateway answers a path no route matches with 403 `Missing Authentication Token`;
deployed, our API Gateway's gateway response answers it with 404 ROUTE_NOT_FOUND in the app's error
shape (infra). This runs the chalice CLI with that one difference taught to the local gateway, so
a client sees the same answer on a laptop and in AWS. Usage: `python -m devstack.chalice_local local ...`
from `app/`, with the same arguments as `chalice`.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from chalice import local
from chalice.cli import cli

from chalicelib.api.gateway import ROUTE_NOT_FOUND

_handle_request = local.LocalGateway.handle_request


def handle_request(self: local.LocalGateway, method: str, path: str, headers: Any, body: bytes | None) -> Any:
    try:
        return _handle_request(self, method, path, headers, body)
    except local.ForbiddenError:
        # Raised only for a path no route matches: the app declares no Chalice authorizer (its
        # gatekeeper is a middleware), so no other check of the local gateway can refuse.
        return {
            "statusCode": ROUTE_NOT_FOUND.status,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {},
            "body": ROUTE_NOT_FOUND.body_text(),
        }


def main() -> NoReturn:
    local.LocalGateway.handle_request = handle_request  # type: ignore[method-assign]
    server = local.ChaliceRequestHandler
    # TCP_NODELAY: the body is written after the headers and would wait for their ACK, which the client
    # delays ~40 ms: every answer took 40 ms more than the app did (the fuzz suite 3.5 times longer).
    server.disable_nagle_algorithm = True
    # TRACE and QUERY had no handler in Chalice's server (501 with an HTML page); handled like the other
    # methods, the gatekeeper answers them 404 ROUTE_NOT_FOUND, as it does any method no route serves.
    server.do_TRACE = server.do_QUERY = server._generic_handle
    # Chalice's reloader watches app/ and imports `app.py` while it lists the files: bytecode written after
    # the listing (a fresh clone's first run) restarted the server a second later, resetting requests.
    sys.dont_write_bytecode = True
    arguments = sys.argv[1:]
    # Chalice's reloader restarts the server by running `sys.argv` again; as `python -m` leaves it, that
    # is this file's path, which is not a command (PermissionError): make it one that runs this module.
    sys.argv = [sys.executable, "-m", "devstack.chalice_local", *arguments]
    cli.main(args=arguments, prog_name="chalice", obj={})  # exits with the command's status


if __name__ == "__main__":
    main()
