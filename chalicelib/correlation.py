"""The correlation id that ties one order's log lines together, from the POST to every partner call.

It is born at the API (the caller's `X-Correlation-Id` when it is a plain token, else the API request id),
travels in the request-queue message as the `correlation_id` attribute (and in the result and notice
messages), is bound again by the worker for each record, and goes out on every partner call as the
`X-Correlation-Id` header. The order key is bound beside it as soon as it is known. Both live in context
variables: `ContextExecutor` carries them into the threads that make partner calls.

Pure (the standard library and the log mask), so every layer may read it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from typing import Any, ParamSpec, TypeVar

from chalicelib.logs import mask

HEADER = "X-Correlation-Id"
ATTRIBUTE = "correlation_id"
"""The SQS message attribute that carries it."""
_ACCEPTED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
"""What a caller's id may look like: a token, never free text (it lands in every log line and header)."""

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_order_key: ContextVar[str | None] = ContextVar("order_key", default=None)

P = ParamSpec("P")
T = TypeVar("T")


def current() -> str | None:
    return _correlation_id.get()


def order_key() -> str | None:
    return _order_key.get()


def accepted(value: str | None) -> str | None:
    """A caller's id kept as is when it is a plain token of 8-128 characters that the log mask leaves whole
    (an id holding a CPF, a CNPJ or a phone number would be masked in the logs and could not be followed);
    anything else is dropped, and the API request id is used instead."""
    if value is None or not _ACCEPTED.fullmatch(value) or mask(value) != value:
        return None
    return value


def new_id() -> str:
    return str(uuid.uuid4())


@contextmanager
def bound(correlation_id: str | None, key: str | None = None) -> Iterator[str]:
    """Binds an id (a new one when None) and the order key for the block; restores the previous ones after."""
    chosen = correlation_id or new_id()
    token = _correlation_id.set(chosen)
    key_token = _order_key.set(key)
    try:
        yield chosen
    finally:
        _order_key.reset(key_token)
        _correlation_id.reset(token)


def bind_order_key(key: str) -> None:
    """Once the API knows the order key; it stays bound until the enclosing `bound` block ends."""
    _order_key.set(key)


def headers() -> dict[str, str]:
    """What a partner call adds to its headers: the correlation id, when there is one."""
    value = current()
    return {HEADER: value} if value else {}


def message_attributes() -> dict[str, Any]:
    """The SQS `MessageAttributes` entry for the correlation id, when there is one."""
    value = current()
    return {ATTRIBUTE: {"DataType": "String", "StringValue": value}} if value else {}


def from_record(record: Mapping[str, Any]) -> str | None:
    """From a Lambda SQS record (`messageAttributes.correlation_id.stringValue`)."""
    attribute = record.get("messageAttributes", {}).get(ATTRIBUTE) or {}
    return accepted(attribute.get("stringValue") or attribute.get("StringValue"))


class ContextExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks run in the submitter's context, so the correlation id follows the call."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        context = copy_context()

        def in_context() -> T:
            return context.run(fn, *args, **kwargs)

        return super().submit(in_context)
