"""Local stand-in for Route 53 failover routing: the public endpoint of the two-region stack.

Route 53 checks each region's `/v1/health` every `--interval` seconds; after `--threshold`
consecutive failures a region is unhealthy, after as many consecutive successes it is healthy
again. Answers go to the primary while it is healthy, to the secondary while only it is, and to
the primary when neither is (Route 53's rule for failover records). Here the answer is not a DNS
record but the request itself, forwarded to the chosen region; clients' DNS caching is not modelled.

A region's `/v1/health` is the app's deep check: 200 only while its DynamoDB and SQS answer and it
is not a fenced primary. While the failover switch (the alarm in the standby region) is set, the
primary answers 503 even once it has recovered, so routing stays on the secondary until an operator
clears it: as in AWS, where Route 53's primary record combines the HTTPS check with that alarm.

Every response carries `X-Ame-Region`; `GET /__router/status` reports health, the active region and
every transition with its time, which the drill reads to mark detection and failover.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from chalicelib.logs import configure_logging
from chalicelib.settings import REGION_HEADER
from devstack import jsonhttp

log = logging.getLogger("ame.router")
CHECK_TIMEOUT = (4.0, 2.0)
"""Route 53's: 4 s to connect, then 2 s for the status. Not the interval: a check that hung up on a slow
answer counted a healthy region as failing, and left its `chalice local` a BrokenPipe traceback."""
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


@dataclass
class RegionHealth:
    name: str
    url: str
    healthy: bool = True
    failures: int = 0
    successes: int = 0


@dataclass
class FailoverRouting:
    primary: RegionHealth
    secondary: RegionHealth
    threshold: int
    transitions: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, region: RegionHealth, ok: bool) -> None:
        """One health-check result; flips the region after `threshold` results in a row."""
        with self.lock:
            before = self._active()
            if ok:
                region.successes, region.failures = region.successes + 1, 0
                if not region.healthy and region.successes >= self.threshold:
                    region.healthy = True
                    self._record("healthy", region.name)
            else:
                region.failures, region.successes = region.failures + 1, 0
                if region.healthy and region.failures >= self.threshold:
                    region.healthy = False
                    self._record("unhealthy", region.name)
            after = self._active()
            if after.name != before.name:
                self._record("routing", after.name)

    def active(self) -> RegionHealth:
        with self.lock:
            return self._active()

    def _active(self) -> RegionHealth:
        if self.primary.healthy or not self.secondary.healthy:
            return self.primary
        return self.secondary

    def _record(self, event: str, region: str) -> None:
        self.transitions.append({"at": datetime.now(UTC).isoformat(), "event": event, "region": region})
        log.warning("router: %s %s", event, region)

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {
                "active": self._active().name,
                "regions": {r.name: {"healthy": r.healthy, "url": r.url} for r in (self.primary, self.secondary)},
                "transitions": list(self.transitions),
            }


def check_forever(routing: FailoverRouting, interval: float, stop: threading.Event) -> None:
    session = requests.Session()
    while not stop.is_set():
        for region in (routing.primary, routing.secondary):
            try:
                ok = session.get(f"{region.url}/v1/health", timeout=CHECK_TIMEOUT).status_code < 400
            except requests.RequestException:
                ok = False
            routing.observe(region, ok)
        stop.wait(interval)


def proxy_server(routing: FailoverRouting, port: int) -> ThreadingHTTPServer:
    local = threading.local()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == "/__router/status":
                jsonhttp.send(self, 200, routing.status())
                return
            self._forward()

        def do_POST(self) -> None:
            self._forward()

        def do_PUT(self) -> None:
            self._forward()

        def _forward(self) -> None:
            region = routing.active()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if not hasattr(local, "session"):
                local.session = requests.Session()
            try:
                upstream = local.session.request(
                    self.command, region.url + self.path, data=body, headers=headers, timeout=10
                )
            except requests.RequestException:
                error = {"error": {"code": "UPSTREAM_UNAVAILABLE", "message": f"{region.name} did not answer"}}
                jsonhttp.send(self, 502, error, {REGION_HEADER: region.name})
                return
            kept = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
            kept.setdefault(REGION_HEADER, region.name)  # the app names itself; say where it went otherwise
            jsonhttp.send(self, upstream.status_code, upstream.content, kept)

        def log_message(self, format: str, *args: Any) -> None:
            return  # request lines carry paths, and paths carry CPFs

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--primary", nargs=2, metavar=("REGION", "URL"), required=True)
    parser.add_argument("--secondary", nargs=2, metavar=("REGION", "URL"), required=True)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between checks (Route 53: 10 or 30)")
    parser.add_argument("--threshold", type=int, default=3, help="consecutive results to flip (Route 53: 1-10)")
    args = parser.parse_args()
    configure_logging(os.environ.get("AME_LOG_LEVEL", "INFO"))
    routing = FailoverRouting(RegionHealth(*args.primary), RegionHealth(*args.secondary), args.threshold)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = proxy_server(routing, args.port)
    threading.Thread(target=check_forever, args=(routing, args.interval, stop), daemon=True).start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
