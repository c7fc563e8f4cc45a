"""Partner payloads are untrusted: anything unreadable must make the engine more careful, never less."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.http_partners import _representative, _reservation, _rule
from chalicelib.quorum.engine import reservation_applies
from tests.unit.builders import cpf, terms


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "AMOUNT_LIMIT", "max_amount": "lots"},
        {"type": "VALIDITY", "valid_until": "someday"},
        {"type": "SIGNATURE_METHOD", "allowed_methods": "DIGITAL"},
        {"max_amount": "1.00"},
        "COURT_ORDER",
    ],
)
def test_unreadable_reservations_still_block(raw: Any) -> None:
    assert reservation_applies(_reservation(raw), terms()) is not None


@pytest.mark.parametrize(
    "raw",
    [
        {"rule_id": "R", "clauses": [{"group": "A", "min": 0}]},
        {"rule_id": "R", "clauses": [{"group": "A", "min": "2"}]},
        {"rule_id": "R", "clauses": [{"cpf": "123", "min": 1}]},
        {"rule_id": "R", "clauses": [{"group": "A", "min": 1}], "max_amount": "unlimited"},
        {"rule_id": "R", "clauses": "A"},
        {"rule_id": "R", "clauses": ["A"]},
    ],
)
def test_unreadable_rules_are_dropped_rather_than_loosened(raw: dict[str, Any]) -> None:
    assert _rule(raw) is None


def test_readable_rule_keeps_its_ceiling_and_normalises_cpfs() -> None:
    masked = f"{cpf(1)[:3]}.{cpf(1)[3:6]}.{cpf(1)[6:9]}-{cpf(1)[9:]}"
    rule = _rule({"rule_id": "R", "clauses": [{"cpf": masked, "min": 1}], "max_amount": "10.50"})
    assert rule is not None and rule.clauses[0].cpf == cpf(1) and str(rule.max_amount) == "10.50"


def test_representatives_with_invalid_cpfs_are_skipped() -> None:
    assert _representative({"cpf": "123.456.789-00", "group": "A"}) is None
    valid = _representative({"cpf": cpf(2), "group": "A", "reservations": [{"type": "X"}]})
    assert valid is not None and valid.reservations[0].type == "X"
