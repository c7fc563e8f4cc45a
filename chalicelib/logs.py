"""Structured JSON logs with personal data masked before anything is written.

Masking is a filter on every handler, so a careless `log.info(f"... {cpf}")` anywhere is
still caught: CPF, CNPJ (formatted or bare, also glued to letters, '_' or '#' as in
`cpf_52998224725` or `CUSTOMER#52998224725`), e-mail addresses and phone numbers. A run of
11 or 14 digits is a document unless it touches another digit (then it is part of a longer
number). Our own machine identifiers are left whole: order keys, decision ids and UUIDs
(request ids) may hold such a run by chance, and a mangled key cannot be looked up.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["error"] = mask(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Idempotent: Lambda pre-installs a handler, chalice local and the worker do not."""
    root = logging.getLogger()
    root.setLevel(level)
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
        handler.setFormatter(JsonFormatter())
