"""Brazilian tax documents as value objects: validated once, digits-only afterwards."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NON_DIGITS = re.compile(r"[.\-/\s]")


class InvalidDocument(ValueError):
    """A CPF or CNPJ failed its format or check-digit validation."""


def _check_digit(digits: str, weights: list[int]) -> str:
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return "0" if remainder < 2 else str(11 - remainder)


def _digits_only(raw: str, length: int, kind: str) -> str:
    if not isinstance(raw, str):
        raise InvalidDocument(f"{kind} must be a string")
    digits = _NON_DIGITS.sub("", raw)
    if len(digits) != length or not digits.isdigit():
        raise InvalidDocument(f"{kind} must have {length} digits")
    if digits == digits[0] * length:
        raise InvalidDocument(f"{kind} cannot be a repeated digit")
    return digits


_CPF_WEIGHTS_1 = list(range(10, 1, -1))
_CPF_WEIGHTS_2 = list(range(11, 1, -1))
_CNPJ_WEIGHTS_1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
_CNPJ_WEIGHTS_2 = [6, *_CNPJ_WEIGHTS_1]


@dataclass(frozen=True, slots=True)
class Cpf:
    """A person's taxpayer number (11 digits, two check digits)."""

    digits: str

    @classmethod
    def parse(cls, raw: str) -> Cpf:
        digits = _digits_only(raw, 11, "CPF")
        expected = _check_digit(digits[:9], _CPF_WEIGHTS_1)
        expected += _check_digit(digits[:9] + expected, _CPF_WEIGHTS_2)
        if digits[9:] != expected:
            raise InvalidDocument("CPF check digits do not match")
        return cls(digits)

    @property
    def masked(self) -> str:
        """Safe for logs: keeps only the middle digits an operator needs to correlate."""
        return f"***.{self.digits[3:6]}.{self.digits[6:9]}-**"

    def __str__(self) -> str:
        return self.digits


@dataclass(frozen=True, slots=True)
class Cnpj:
    """A company's taxpayer number (14 digits, two check digits)."""

    digits: str

    @classmethod
    def parse(cls, raw: str) -> Cnpj:
        digits = _digits_only(raw, 14, "CNPJ")
        expected = _check_digit(digits[:12], _CNPJ_WEIGHTS_1)
        expected += _check_digit(digits[:12] + expected, _CNPJ_WEIGHTS_2)
        if digits[12:] != expected:
            raise InvalidDocument("CNPJ check digits do not match")
        return cls(digits)

    @property
    def masked(self) -> str:
        return f"**.{self.digits[2:5]}.{self.digits[5:8]}/****-**"

    def __str__(self) -> str:
        return self.digits


Document = Cpf | Cnpj


def parse_document(raw: str) -> Document:
    """A CPF or a CNPJ, told apart by digit count."""
    digits = _NON_DIGITS.sub("", raw) if isinstance(raw, str) else ""
    if len(digits) == 11:
        return Cpf.parse(raw)
    if len(digits) == 14:
        return Cnpj.parse(raw)
    raise InvalidDocument("document must be a CPF (11 digits) or a CNPJ (14 digits)")


def cpf_from_base(base9: str) -> Cpf:
    """Completes nine digits with their check digits; used by the simulator and tests."""
    d1 = _check_digit(base9, _CPF_WEIGHTS_1)
    d2 = _check_digit(base9 + d1, _CPF_WEIGHTS_2)
    return Cpf.parse(base9 + d1 + d2)


def cnpj_from_base(base12: str) -> Cnpj:
    """Completes twelve digits with their check digits; used by the simulator and tests."""
    d1 = _check_digit(base12, _CNPJ_WEIGHTS_1)
    d2 = _check_digit(base12 + d1, _CNPJ_WEIGHTS_2)
    return Cnpj.parse(base12 + d1 + d2)
