from __future__ import annotations

import pytest

from lake import schema


def test_every_table_has_glue_columns_and_partition_keys() -> None:
    for name, table in schema.TABLES.items():
        columns = schema.glue_columns(name)
        assert [c for c, _ in columns] == table.schema.names
        assert all(kind for _, kind in columns)
        assert schema.partition_keys(name) == ([("dt", "string")] if table.partitioned else [])
        assert set(table.key) <= set(table.schema.names)
        assert "dt" not in table.schema.names


def test_money_is_decimal_and_times_are_utc() -> None:
    assert ("amount", "decimal(18,2)") in schema.glue_columns("fact_envelope_order")
    assert ("created_at", "timestamp") in schema.glue_columns("fact_credit_decision")
    assert str(schema.FACT_CREDIT_DECISION.schema.field("created_at").type) == "timestamp[us, tz=UTC]"


def test_unknown_table_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="fact_credit_decision"):
        schema.glue_columns("nope")
