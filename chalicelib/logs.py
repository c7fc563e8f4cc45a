"""Structured JSON logs with personal data masked before anything is written.

Masking is a filter on every handler, so a careless `log.info(f"... {cpf}")` anywhere is
still caught: CPF, CNPJ (formatted or bare, also glued to letters, '_' or '#' as in
`cpf_52998224725` or `CUSTOMER#52998224725`), e-mail addresses and phone numbers. A run of
11 or 14 digits is a document unless it touches another digit (then it is part of a longer
number). Our own machine identifiers are left whole: order keys, decision ids and UUIDs
(request ids) may hold such a run by chance, and a mangled key cannot be looked up.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

_MASKS = re.compile(
    "|".join(
        (
            r"(?P<KEEP>(?<![0-9A-Za-z])(?:(?:ord|dec)_[0-9a-f]{32}"
            r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![0-9A-Za-z]))",
            r"(?P<EMAIL>(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+)",
            r"(?P<CNPJ>(?<!\d)\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}(?!\d))",
            r"(?P<CPF>(?<!\d)\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?!\d))",
            r"(?P<PHONE>(?<![\w])(?:\+\d{1,3}[\s-]?)?\(?\d{2,3}\)?[\s-]?\d{4,5}[\s-]?\d{4}(?![\w]))",
        )
    )
)
"""One pass, leftmost match first, so what a kept identifier or an e-mail address holds is not masked
again piecemeal (`joao52998224725@x.com` is one [EMAIL], not `joao[CPF]@x.com`)."""
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _replacement(match: re.Match[str]) -> str:
    kind = match.lastgroup
    return match.group() if kind == "KEEP" else f"[{kind}]"


def mask(text: str) -> str:
    return _MASKS.sub(_replacement, text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, mask(value))
        return True


_logger: Logger | None = None


def configure_logging(level: str = "INFO") -> Logger:
    """Idempotent: Lambda pre-installs a handler, chalice local and the worker do not.

    Every handler of the root logger masks (`MaskingFilter`) and writes Powertools' JSON through
    `MaskedJsonFormatter` (chalicelib/adapters/powertools.py), so `logging.getLogger("ame.x")` lines and the
    Powertools `Logger` returned here (its own handler onto the same stream, the same formatter: keys it
    appends appear on every line)
    have one shape. `ame.audit` keeps its own handler and does not propagate (adapters/audit_log.py)."""
    from chalicelib.adapters.powertools import MaskedJsonFormatter, logger

    global _logger
    root = logging.getLogger()
    root.setLevel(level)
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    if _logger is None:
        # Its own handler onto the same stream: Powertools filters its service's records out of the root's.
        own = logging.StreamHandler(getattr(root.handlers[0], "stream", None))
        own.addFilter(MaskingFilter())
        _logger = logger(own, level, MaskedJsonFormatter())
    _logger.setLevel(level)
    formatter = _logger.registered_formatter
    for handler in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
        handler.setFormatter(formatter)
    return _logger


def app_logger() -> Logger | None:
    """The Powertools Logger once `configure_logging` ran (None before)."""
    return _logger
