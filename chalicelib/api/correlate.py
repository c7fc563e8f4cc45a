"""The outermost HTTP middleware: binds the request's correlation id, answers it, flushes the metrics.

The id is the caller's `X-Correlation-Id` when it is a plain token (`chalicelib.correlation.accepted`),
else the request id the audit record names too (API Gateway's, else the invocation's). Every log line of
the request carries it, the order it creates carries it into the request queue, and the response echoes
it in `X-Correlation-Id`.
"""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib import correlation, telemetry


def correlate(request: Request, get_response: Callable[[Request], Response]) -> Response:
    context = request.context if isinstance(request.context, dict) else {}
    request_id = context.get("requestId") or getattr(request.lambda_context, "aws_request_id", None)
    chosen = correlation.accepted(request.headers.get(correlation.HEADER)) or request_id
    with correlation.bound(str(chosen) if chosen else None) as correlation_id:
        try:
            response = get_response(request)
        finally:
            telemetry.flush()
    response.headers = {**(response.headers or {}), correlation.HEADER: correlation_id}
    return response
