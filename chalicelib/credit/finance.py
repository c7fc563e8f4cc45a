"""Price table (French amortisation) in Decimal: what a customer actually pays each month."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")


def price_factor(monthly_rate: Decimal, term_months: int) -> Decimal:
    """Installment per unit borrowed: r / (1 - (1 + r)^-n); 1/n when the rate is zero."""
    if term_months <= 0:
        raise ValueError("term must be positive")
    if monthly_rate == 0:
        return Decimal(1) / term_months
    return monthly_rate / (1 - (1 + monthly_rate) ** -term_months)


def installment(amount: Decimal, factor: Decimal) -> Decimal:
    return (amount * factor).quantize(CENT, rounding=ROUND_HALF_EVEN)


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    """A share of income; no income makes any obligation infinitely heavy."""
    if denominator <= 0:
        return Decimal("Infinity") if numerator > 0 else Decimal(0)
    return (numerator / denominator).quantize(RATIO, rounding=ROUND_HALF_EVEN)
