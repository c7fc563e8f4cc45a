from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.credit.model import Application, ScoreSource

TODAY = date(2026, 11, 22)


def application(**overrides: Any) -> Application:
    """A comfortable band-B applicant; tests change one thing at a time."""
    values: dict[str, Any] = {
        "amount": Decimal("20000.00"),
        "term_months": 24,
        "product": "PERSONAL_LOAN",
        "monthly_income": Decimal("8000.00"),
        "existing_debts": Decimal("1200.00"),
        "score": 720,
        "score_as_of": TODAY - timedelta(days=10),
        "score_source": ScoreSource.BUREAU,
        "today": TODAY,
    }
    values.update(overrides)
    return Application(**values)
