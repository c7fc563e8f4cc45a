"""Partner-services simulator: the five partner contracts over HTTP on one local port.

Local stand-in only; in production each AME_*_URL points at the real partner. It serves the
demo data in `devstack.demo_data`, including an outage (503) and a slow partner.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalicelib import correlation
from chalicelib.logs import configure_logging
from devstack import demo_data as demo
from devstack import jsonhttp

Answer = tuple[int, dict[str, Any] | None]


def _area(area_id: str) -> Answer:
    if area_id == demo.UNAVAILABLE_AREA:
        return 503, {"message": "parametrizer unavailable"}
    area = demo.AREAS.get(area_id)
    return (200, {"area_id": area_id, **area}) if area else (404, None)


def _domain(domain: str, key: str) -> Answer:
    entry = demo.DOMAINS.get(domain, {}).get(key)
    return (200, {"domain": domain, "key": key, **entry}) if entry else (404, None)


log = logging.getLogger("ame.partners")
_DOCUMENT_IN_PATH = re.compile(r"\d{11,14}")
_COMPANIES = {c.cnpj: c for c in [*demo.COMPANIES, demo.LARGE_COMPANY, *demo.ENVELOPE_COMPANIES.values()]}
_PEOPLE = {p.cpf: p for p in [*demo.PEOPLE, *demo.LARGE_COMPANY_PEOPLE]}


def _powers(cnpj: str, power_code: str) -> Answer:
    company = _COMPANIES.get(cnpj)
    if company is None or power_code != demo.POWER or company.powers_status == 404:
        return 404, None
    if company.powers_delay:
        time.sleep(company.powers_delay)
    if company.powers_status != 200:
        return company.powers_status, {"message": "powers service unavailable"}
    return 200, {"representatives": company.representatives, "rules": company.rules}


def _person(cpf: str) -> Answer:
    person = _PEOPLE.get(cpf)
    if person is None:
        return 404, None
    return 200, {"cpf": cpf, "name": person.name, "email": person.email, "phone": person.phone}


BUREAU_DOWN_FOR: set[str] = set()
"""CPFs for which the bureau answers 503; toggled over HTTP by `PUT /__sim/bureau/{cpf}`."""


def _score(cpf: str) -> Answer:
    if cpf in BUREAU_DOWN_FOR:
        return 503, {"message": "bureau unavailable"}
    entry = demo.SCORES.get(cpf)
    if entry is None:
        return 404, None
    score, age_days = entry
    return 200, {"cpf": cpf, "score": score, "as_of": (datetime.now(UTC).date() - timedelta(days=age_days)).isoformat()}


def _operator(holder: str, cpf: str, platform: str) -> Answer:
    record = demo.OPERATORS.get((holder, cpf)) if platform == demo.PLATFORM else None
    return (200, dict(record)) if record else (404, None)


_ROUTES: list[tuple[re.Pattern[str], Callable[..., Answer]]] = [
    (re.compile(r"^/areas/([^/]+)$"), _area),
    (re.compile(r"^/domains/([^/]+)/([^/]+)$"), _domain),
    (re.compile(r"^/companies/(\d{14})/powers/([^/]+)$"), _powers),
    (re.compile(r"^/people/(\d{11})$"), _person),
    (re.compile(r"^/holders/(\d{11}|\d{14})/operators/(\d{11})$"), _operator),
    (re.compile(r"^/scores/(\d{11})$"), _score),
]
_BUREAU_CONTROL = re.compile(r"^/__sim/bureau/(\d{11})$")

BATCH_LIMIT = 100
"""Most CPFs one batch call may name; more is a 400."""


def _cpf_list(payload: Any) -> list[str] | None:
    cpfs = payload.get("cpfs") if isinstance(payload, dict) else None
    if not isinstance(cpfs, list) or not 1 <= len(cpfs) <= BATCH_LIMIT or not all(isinstance(c, str) for c in cpfs):
        return None
    return cpfs


def _people_batch(payload: Any) -> Answer:
    """`{"cpfs": [...]}` -> `{"people": {cpf: contact}}`; people it does not know are left out."""
    cpfs = _cpf_list(payload)
    if cpfs is None:
        return 400, {"message": f"cpfs must be a list of 1 to {BATCH_LIMIT} CPFs"}
    found = {cpf: body for cpf in cpfs for status, body in [_person(cpf)] if status == 200}
    return 200, {"people": found}


def _operators_batch(holder: str, payload: Any) -> Answer:
    """`{"platform", "cpfs": [...]}` -> `{"operators": {cpf: access}}`; CPFs that are no operator are left out."""
    cpfs = _cpf_list(payload)
    platform = payload.get("platform") if isinstance(payload, dict) else None
    if cpfs is None or not isinstance(platform, str):
        return 400, {"message": f"platform and cpfs (a list of 1 to {BATCH_LIMIT} CPFs) are required"}
    found = {cpf: body for cpf in cpfs for status, body in [_operator(holder, cpf, platform)] if status == 200}
    return 200, {"operators": found}


_BATCH_ROUTES: list[tuple[re.Pattern[str], Callable[..., Answer]]] = [
    (re.compile(r"^/people/batch$"), _people_batch),
    (re.compile(r"^/holders/(\d{11}|\d{14})/operators/batch$"), _operators_batch),
]


class PartnerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this, keep-alive stalls ~40 ms
    latency: float = 0.0  # seconds every partner answer waits (set on the subclass `make_server` builds)
    batch_routes: bool = True  # False stands in for a partner that has only the per-person routes

    def do_GET(self) -> None:
        if self.latency:
            time.sleep(self.latency)
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        for pattern, handler in _ROUTES:
            match = pattern.match(url.path)
            if match:
                args = list(match.groups())
                if handler is _operator:
                    args.append(query.get("platform", [""])[0])
                status, body = handler(*args)
                return self._send(status, body)
        self._send(404, None)

    def do_POST(self) -> None:
        """The batch routes; without them (`batch_routes=False`) every POST is a 404."""
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length) if length else b""
        if self.latency:
            time.sleep(self.latency)
        path = urlsplit(self.path).path
        for pattern, handler in _BATCH_ROUTES if self.batch_routes else []:
            match = pattern.match(path)
            if match:
                try:
                    payload = json.loads(raw or b"null")
                except ValueError:
                    return self._send(400, {"message": "unreadable JSON"})
                status, body = handler(*match.groups(), payload)
                return self._send(status, body)
        self._send(404, None)

    def do_PUT(self) -> None:
        """Test control: `{"mode": "down"}` makes the bureau fail for that CPF, `{"mode": "up"}` restores it."""
        match = _BUREAU_CONTROL.match(urlsplit(self.path).path)
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        if match is None or body.get("mode") not in ("up", "down"):
            return self._send(404, None)
        cpf = match.group(1)
        (BUREAU_DOWN_FOR.add if body["mode"] == "down" else BUREAU_DOWN_FOR.discard)(cpf)
        self._send(200, {"cpf": cpf, "mode": body["mode"]})

    def _send(self, status: int, body: dict[str, Any] | None) -> None:
        jsonhttp.send(self, status, body if body is not None else {"message": "not found"})

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: request lines carry documents, and our logs never show them unmasked."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One line per call with the caller's `X-Correlation-Id`: the route with documents replaced, never the path."""
        log.info(
            "partner call",
            extra={
                "correlation_id": self.headers.get(correlation.HEADER, "-"),
                "method": self.command,
                "route": _DOCUMENT_IN_PATH.sub("{doc}", urlsplit(self.path).path),
                "status": code,
            },
        )


def make_server(host: str, port: int, latency: float = 0.0, batch_routes: bool = True) -> ThreadingHTTPServer:
    """`latency`: seconds every partner answer waits (benchmarks); `batch_routes=False`: per-person routes only."""
    handler = type("ConfiguredPartnerHandler", (PartnerHandler,), {"latency": latency, "batch_routes": batch_routes})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="every partner answer waits this long")
    parser.add_argument("--no-batch", action="store_true", help="serve only the per-person routes")
    args = parser.parse_args()
    configure_logging(os.environ.get("AME_LOG_LEVEL", "INFO"))
    server = make_server(args.host, args.port, args.latency_ms / 1000, batch_routes=not args.no_batch)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
