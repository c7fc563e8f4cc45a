"""What every queue and schedule handler does around its work: flush the metrics it counted, once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from chalicelib import telemetry

P = ParamSpec("P")
T = TypeVar("T")


def flushed(handler: Callable[P, T]) -> Callable[P, T]:
    """The buffered metrics go out as CloudWatch EMF lines when the invocation ends, raised or not."""

    @functools.wraps(handler)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return handler(*args, **kwargs)
        finally:
            telemetry.flush()

    return run
