"""Business and operational metrics, one call per event, so services name what happened and not how it is shipped.

The services call `count` and `observe_ms`; which backend receives them (CloudWatch EMF through Powertools in
Lambda, `chalicelib/adapters/powertools.py`; `Capturing` in tests; nothing by default) is chosen once by
`set_backend`, and `flush` writes what it buffered at the end of each invocation (the API middleware and the
SQS and schedule handlers). List the dimensions most significant first: the EMF backend also publishes each
metric by `service` alone and by `service` and the first dimension, which is what the alarms watch.
Dimensions are low-cardinality codes only: never a CPF, CNPJ, order key or name.
"""

from __future__ import annotations

from typing import Protocol


class MetricsBackend(Protocol):
    def add(self, metric: str, value: float, unit: str, dimensions: dict[str, str]) -> None: ...


class _Discard:
    def add(self, metric: str, value: float, unit: str, dimensions: dict[str, str]) -> None:
        return None


_backend: MetricsBackend = _Discard()


def set_backend(backend: MetricsBackend) -> None:
    global _backend
    _backend = backend


def count(metric: str, value: float = 1, **dimensions: str) -> None:
    """One more of something that happened: an order accepted, a sweeper rescue, a partner error."""
    _backend.add(metric, value, "Count", dimensions)


def observe_ms(metric: str, milliseconds: float, **dimensions: str) -> None:
    """How long something took: a partner call, the outbox's lag behind the decision."""
    _backend.add(metric, milliseconds, "Milliseconds", dimensions)


def flush() -> None:
    """Writes what the backend buffered (CloudWatch EMF lines); the entry points call it once per invocation."""
    flusher = getattr(_backend, "flush", None)
    if callable(flusher):
        flusher()


class Capturing:
    """A backend that keeps every call, for tests: `(metric, value, unit, dimensions)` in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, str, dict[str, str]]] = []
        self.flushes = 0

    def add(self, metric: str, value: float, unit: str, dimensions: dict[str, str]) -> None:
        self.calls.append((metric, value, unit, dict(dimensions)))

    def flush(self) -> None:
        self.flushes += 1

    def counted(self, metric: str, **dimensions: str) -> float:
        """The sum of `metric` over the calls whose dimensions include these."""
        return sum(
            value for name, value, _, dims in self.calls if name == metric and dimensions.items() <= dims.items()
        )
