"""Brazilian tax documents as value objects: validated once, digits-only afterwards."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

_SEPARATORS = re.compile(r"[.\-/ ]")
"""What a formatted document may hold besides its digits (ASCII only: a no-break or ideographic space
is not a separator we print, and accepting it would only widen what reaches the check)."""
_DIGITS = re.compile(r"[0-9]+")
"""ASCII digits only: str.isdigit() and int() also take superscripts, fullwidth and Arabic-Indic digits, which
would make a second spelling of one person's number (or a 500 where int() refuses what isdigit() took)."""


class InvalidDocument(ValueError):
    """A CPF or CNPJ failed its format or check-digit validation."""


def _check_digit(digits: str, weights: Sequence[int]) -> str:
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return "0" if remainder < 2 else str(11 - remainder)


@dataclass(frozen=True, slots=True)
class _TaxId:
    """Digits-only taxpayer number whose last two digits check the rest (mod 11)."""

    digits: str
    KIND: ClassVar[str]
    LENGTH: ClassVar[int]
    WEIGHTS: ClassVar[tuple[tuple[int, ...], tuple[int, ...]]]

    @classmethod
    def parse(cls, raw: str) -> Self:
        if not isinstance(raw, str):
            raise InvalidDocument(f"{cls.KIND} must be a string")
        digits = _SEPARATORS.sub("", raw)
        if len(digits) != cls.LENGTH or not _DIGITS.fullmatch(digits):
            raise InvalidDocument(f"{cls.KIND} must have {cls.LENGTH} digits (0-9)")
        if digits == digits[0] * cls.LENGTH:
            raise InvalidDocument(f"{cls.KIND} cannot be a repeated digit")
        if digits[-2:] != cls._check_digits(digits[:-2]):
            raise InvalidDocument(f"{cls.KIND} check digits do not match")
        return cls(digits)

    @classmethod
    def from_base(cls, base: str) -> Self:
        """Completes a base with its check digits; used by the simulator and tests."""
        return cls.parse(base + cls._check_digits(base))

    @classmethod
    def _check_digits(cls, base: str) -> str:
        first = _check_digit(base, cls.WEIGHTS[0])
        return first + _check_digit(base + first, cls.WEIGHTS[1])

    def __str__(self) -> str:
        return self.digits


class Cpf(_TaxId):
    """A person's taxpayer number (11 digits)."""

    __slots__ = ()
    KIND, LENGTH = "CPF", 11
    WEIGHTS = (tuple(range(10, 1, -1)), tuple(range(11, 1, -1)))

    @property
    def masked(self) -> str:
        """Safe for logs: keeps only the middle digits an operator needs to correlate."""
        return f"***.{self.digits[3:6]}.{self.digits[6:9]}-**"


class Cnpj(_TaxId):
    """A company's taxpayer number (14 digits)."""

    __slots__ = ()
    KIND, LENGTH = "CNPJ", 14
    WEIGHTS = ((5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2))

    @property
    def masked(self) -> str:
        return f"**.{self.digits[2:5]}.{self.digits[5:8]}/****-**"


Document = Cpf | Cnpj


def parse_document(raw: str) -> Document:
    """A CPF or a CNPJ, told apart by digit count."""
    digits = _SEPARATORS.sub("", raw) if isinstance(raw, str) else ""
    if len(digits) == 11:
        return Cpf.parse(raw)
    if len(digits) == 14:
        return Cnpj.parse(raw)
    raise InvalidDocument("document must be a CPF (11 digits) or a CNPJ (14 digits)")
