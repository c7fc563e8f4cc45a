"""Untrusted input for the credit API (JSON bodies, paths, query strings) validated into commands."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chalicelib.credit.errors import DecisionNotFound
from chalicelib.credit.services import DecideCredit, ListDecisions, PutProfile
from chalicelib.errors import ValidationFailed
from chalicelib.money import parse_money
from chalicelib.payloads import json_object, parse_cpf, reject_unknown

MAX_CREDIT_AMOUNT = Decimal("100000000.00")
MAX_TERM_MONTHS = 480
MAX_PAGE = 100
_PRODUCT = re.compile(r"[A-Z][A-Z0-9_]{1,63}")
_DECISION_ID = re.compile(r"dec_[0-9a-f]{32}")
_LIMIT = re.compile(r"[0-9]{1,3}")
"""ASCII digits only (str.isdigit() also takes '²', which int() then refuses); patterns here are fullmatched."""


def parse_profile(raw_cpf: str, body: Any) -> PutProfile:
    cpf = parse_cpf(raw_cpf)
    data = json_object(body)
    reject_unknown(data, ("monthly_income", "existing_debts"))
    income = parse_money(data.get("monthly_income"), "monthly_income", allow_zero=True)
    return PutProfile(cpf, income, parse_money(data.get("existing_debts"), "existing_debts", allow_zero=True))


def parse_list_decisions(raw_cpf: str, query: Mapping[str, str]) -> ListDecisions:
    cpf = parse_cpf(raw_cpf)
    return ListDecisions(cpf, parse_limit(query.get("limit")), query.get("cursor"))


def parse_decision_id(raw: str) -> str:
    """An id we could never have issued is simply not found (and never reaches the table)."""
    if not _DECISION_ID.fullmatch(raw):
        raise DecisionNotFound(f"decision '{raw[:40]}' not found")
    return raw


def parse_decision_request(body: Any) -> DecideCredit:
    data = json_object(body)
    reject_unknown(data, ("cpf", "amount", "term_months", "product", "monthly_income", "existing_debts"))
    cpf = parse_cpf(data.get("cpf"))
    amount = parse_money(data.get("amount"), "amount")
    if amount > MAX_CREDIT_AMOUNT:
        raise ValidationFailed(f"amount above {MAX_CREDIT_AMOUNT} is not a credit request we accept", field="amount")
    term = data.get("term_months")
    if isinstance(term, bool) or not isinstance(term, int) or not 1 <= term <= MAX_TERM_MONTHS:
        raise ValidationFailed(f"term_months must be a whole number from 1 to {MAX_TERM_MONTHS}", field="term_months")
    product = data.get("product")
    if not isinstance(product, str) or not _PRODUCT.fullmatch(product):
        raise ValidationFailed("product must be an UPPER_SNAKE_CASE code, e.g. PERSONAL_LOAN", field="product")

    def optional(name: str) -> Decimal | None:
        return parse_money(data[name], name, allow_zero=True) if data.get(name) is not None else None

    return DecideCredit(cpf, amount, term, product, optional("monthly_income"), optional("existing_debts"))


def parse_limit(limit: str | None) -> int:
    if limit is None:
        return 20
    if not _LIMIT.fullmatch(limit) or not 1 <= int(limit) <= MAX_PAGE:
        raise ValidationFailed(f"limit must be a whole number from 1 to {MAX_PAGE}", field="limit")
    return int(limit)
