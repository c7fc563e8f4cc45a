"""Powertools for AWS Lambda (Python): the JSON log formatter, the CloudWatch EMF metrics backend, X-Ray.

Imported only by `chalicelib.logs.configure_logging` and `bootstrap.container()`, never at `import app`
(tests/unit/test_architecture.py). In Lambda, Powertools and the X-Ray SDK come from AWS's managed
Powertools layer (infra/ame_infra/functions.py); `lean_package` keeps them out of deployment.zip.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from datetime import UTC, datetime
from typing import IO, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS, LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from chalicelib import correlation
from chalicelib.logs import mask

SERVICE = "ame-platform"
NAMESPACE = "AME/Platform"
_SKIPPED = set(RESERVED_LOG_ATTRS) | {"message", "asctime", "taskName"}


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


class MaskedJsonFormatter(LambdaPowertoolsFormatter):
    """Powertools' formatter in our line shape (README, *Logs*), everything masked on the way out.

    `time`, `level`, `logger`, `message`, then `service`, `correlation_id` and `order_key` (when bound),
    the record's extras, keys a Powertools `Logger.append_keys` added, `error` (a masked traceback) and,
    in Lambda with tracing on, `xray_trace_id`."""

    def __init__(self, service: str = SERVICE) -> None:
        super().__init__(service=service, utc=True)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.log_format.get("service"),
        }
        bound_id, bound_key = correlation.current(), correlation.order_key()
        if bound_id:
            entry["correlation_id"] = bound_id
        if bound_key:
            entry["order_key"] = bound_key
        appended = {k: v for k, v in self.log_format.items() if k not in _DEFAULT_KEYS and v is not None}
        entry.update(appended)
        entry.update(self.thread_safe_get_current_keys())
        entry.update({k: v for k, v in vars(record).items() if k not in _SKIPPED})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        trace_id = self._get_latest_trace_id()
        if trace_id:
            entry["xray_trace_id"] = trace_id
        return json.dumps({k: v if k in _OURS else _masked(v) for k, v in entry.items()}, default=str)


_DEFAULT_KEYS = {"level", "location", "message", "timestamp", "service", "sampling_rate"}
_OURS = {"time", "level", "logger", "service", "correlation_id", "order_key"}
"""Values we make (a correlation id is accepted only when the mask leaves it whole): not masked again."""


def logger(handler: logging.Handler, level: str, formatter: MaskedJsonFormatter, service: str = SERVICE) -> Logger:
    """The Powertools Logger for the app, writing through the root's masked handler with `formatter`."""
    return Logger(service=service, level=level, logger_handler=handler, logger_formatter=formatter)


class EmfBackend:
    """`chalicelib.telemetry`'s backend in Lambda: metrics buffered per dimension set and written as CloudWatch
    Embedded Metric Format lines on stdout by `flush` (once per invocation: the API middleware and the SQS and
    schedule handlers call it). Each line also declares the `service`-only set and `service` + the first
    dimension (`verdict`, `partner`, `outcome`, ...), so the alarms can watch totals without every code."""

    def __init__(self, namespace: str = NAMESPACE, service: str = SERVICE, stream: IO[str] | None = None) -> None:
        self._namespace = namespace
        self._service = service
        self._stream = stream
        self._lock = threading.Lock()
        self._sets: dict[tuple[tuple[str, str], ...], AmazonCloudWatchEMFProvider] = {}

    def add(self, metric: str, value: float, unit: str, dimensions: dict[str, str]) -> None:
        key = tuple(dimensions.items())
        with self._lock:
            provider = self._sets.get(key)
            if provider is None:
                provider = AmazonCloudWatchEMFProvider(
                    namespace=self._namespace, service=self._service, metric_set={}, dimension_set={}
                )
                for name, code in key:
                    provider.add_dimension(name, code)
                self._sets[key] = provider
            provider.add_metric(name=metric, unit=unit, value=value)

    def flush(self) -> None:
        """One EMF document per dimension set that saw a metric; the sets are kept (few: codes only), emptied."""
        stream = self._stream or sys.stdout
        with self._lock:
            for key, provider in self._sets.items():
                if not provider.metric_set:
                    continue
                document = provider.serialize_metric_set()
                provider.metric_set.clear()
                declared = document["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
                rollups = [["service"], ["service", key[0][0]]] if key else []
                declared.extend(r for r in rollups if r not in declared and set(r) != set(declared[0]))
                stream.write(json.dumps(document, separators=(",", ":"), default=str) + "\n")
        stream.flush()


def tracing_wanted(env: dict[str, str] | None = None) -> bool:
    """X-Ray only in Lambda (the daemon is there) and unless `POWERTOOLS_TRACE_DISABLED` says otherwise."""
    env = dict(os.environ) if env is None else env
    disabled = env.get("POWERTOOLS_TRACE_DISABLED", "").lower() in {"1", "true", "yes", "on"}
    return bool(env.get("AWS_LAMBDA_FUNCTION_NAME")) and not disabled


def start_tracing(service: str = SERVICE) -> Any:
    """Patches boto3/botocore and requests (class level: clients built before are traced too); the Tracer.

    Without the X-Ray SDK (a function deployed without the Powertools layer) it says so once and the app
    runs untraced: traces are worth less than answering."""
    try:
        from aws_lambda_powertools import Tracer

        return Tracer(service=service, patch_modules=("boto3", "botocore", "requests"))
    except ImportError as exc:
        logging.getLogger("ame.telemetry").warning("X-Ray tracing off", extra={"error": type(exc).__name__})
        return None
