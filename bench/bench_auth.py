"""What the token check adds to a request, in-process: the gatekeeper in front of a route that answers
at once, for a public route (no token) and a protected one (token verified, scope checked), over the
same number of requests, each protected request with a token of its own (nothing cached but the JWKS).

Last line: `token check adds p50 <ms> ms, p95 <ms> ms per request`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response

from chalicelib import bootstrap
from chalicelib.api.gatekeeper import gatekeeper
from tests.unit.tokens import test_issuer


def event(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "requestContext": {"httpMethod": method, "resourcePath": path, "path": path},
        "headers": headers,
        "pathParameters": None,
        "multiValueQueryStringParameters": None,
        "stageVariables": None,
        "body": None,
    }


def timings(requests: list[Request], answer: Callable[[Request], Response]) -> list[float]:
    seconds = []
    for request in requests:
        start = time.perf_counter()
        response = gatekeeper(request, answer)
        seconds.append(time.perf_counter() - start)
        assert response.status_code == 200, response.body
    return seconds


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    issuer = test_issuer()
    bootstrap.use_token_verifier(issuer.verifier())
    ok = Response(body={"ok": True}, status_code=200)

    def answer(request: Request) -> Response:
        return ok

    public = [Request(event("GET", "/v1/health", {})) for _ in range(args.requests)]
    tokens = [issuer.token() for _ in range(args.requests)]
    protected = [Request(event("GET", "/v1/credit/policies/active", {"authorization": f"Bearer {t}"})) for t in tokens]
    timings(protected[:50], answer)  # first request fetches the JWKS; warm up both paths
    without, with_token = timings(public, answer), timings(protected, answer)
    print(f"requests per path: {args.requests} (each protected one with its own RS256 token)")
    for name, values in (("public route (no token)", without), ("protected route (token + scope)", with_token)):
        print(f"{name:34} p50 {percentile(values, 50):.3f} ms  p95 {percentile(values, 95):.3f} ms")
    added50 = percentile(with_token, 50) - percentile(without, 50)
    added95 = percentile(with_token, 95) - percentile(without, 95)
    print(f"token check adds p50 {added50:.3f} ms, p95 {added95:.3f} ms per request")


if __name__ == "__main__":
    main()
