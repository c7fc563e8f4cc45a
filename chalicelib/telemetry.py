"""Business and operational metrics, one call per event, so services name what happened and not how it is shipped.

The services call `count` and `observe_ms`; which backend receives them (CloudWatch EMF in Lambda,
nothing in unit tests) is chosen once by `set_backend`. Dimensions are low-cardinality codes only:
never a CPF, CNPJ, order key or name.
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
