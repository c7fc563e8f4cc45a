"""Timeouts and concurrency the platform sets whatever Chalice packages (issue 11, the review)."""

from __future__ import annotations

from ame_infra.chalice_package import ChalicePackage, PackagedFunction

API_GATEWAY_TIMEOUT_SECONDS = 29
"""API Gateway ends every REST integration here; a longer Lambda would run on with nobody waiting."""
API_TIMEOUT_SECONDS = 25
"""The API function's ceiling, whatever Chalice packages (60 s by default): under API Gateway's 29 s,
with room for the cold start and the gateway itself."""
WORKER_MAX_CONCURRENCY = 10
"""After a failback the requests queue may hold a backlog: capping its event source keeps the account's
concurrency for the API (Lambda's `ScalingConfig.MaximumConcurrency`, 2-1000)."""


def function_timeout(packaged: PackagedFunction) -> int:
    """The packaged timeout, capped at `API_TIMEOUT_SECONDS` for the function behind API Gateway."""
    return min(packaged.timeout_seconds, API_TIMEOUT_SECONDS) if packaged.is_api else packaged.timeout_seconds


def consumer_timeouts(package: ChalicePackage) -> dict[str, int]:
    """Queue name -> the timeout of the function its SQS event source invokes (the visibility follows it)."""
    return {f.sqs_source.queue_name: function_timeout(f) for f in package.functions if f.sqs_source is not None}
