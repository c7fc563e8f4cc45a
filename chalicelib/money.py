"""Money crosses the API as decimal strings with at most two places, never as JSON numbers."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from chalicelib.errors import ValidationFailed

CENT = Decimal("0.01")
_MONEY = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
"""ASCII digits, matched in full: \\d and Decimal() also take fullwidth or Arabic-Indic digits, and `$`
lets a trailing newline through."""


def parse_money(value: Any, field: str, *, allow_zero: bool = False) -> Decimal:
    if not isinstance(value, str) or not _MONEY.fullmatch(value):
        raise ValidationFailed(
            f'{field} must be a decimal string with up to 2 places and 12 integer digits, e.g. "1500.00"',
            field=field,
        )
    amount = Decimal(value).quantize(CENT)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed(f"{field} must be greater than zero", field=field)
    return amount
