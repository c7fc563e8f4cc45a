from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from lake.config import LakeConfig
from lake.exports import ExportRef, write_export
from lake.pseudonym import lake_key
from lake.traffic import Traffic, TrafficShape
from lake.transform import CREDIT_TABLE, ORDERS_TABLE, Transform

SECRET = b"tests-only-lake-secret-0123456789abcdef"
START = date(2026, 11, 2)
EXPORTED = datetime(2026, 11, 6, 3, tzinfo=UTC)


def small_traffic(**overrides: Any) -> Traffic:
    shape: dict[str, Any] = {"days": 3, "orders_per_day": 40, "decisions_per_day": 80, "customers": 200}
    return Traffic(TrafficShape(START, **(shape | overrides)))


def export(root: Path, table: str, items: Iterable[dict[str, Any]], at: datetime = EXPORTED) -> ExportRef:
    return write_export(root / "raw" / table, table, items, at=at)


def exports(root: Path, traffic: Traffic) -> tuple[list[ExportRef], list[ExportRef]]:
    return [export(root, ORDERS_TABLE, traffic.orders())], [export(root, CREDIT_TABLE, traffic.decisions())]


def transform(root: Path, **config: Any) -> Transform:
    return Transform(LakeConfig(root=root, **config), lake_key(SECRET), version="test")


@pytest.fixture
def lake_root(tmp_path: Path) -> Path:
    return tmp_path / "lake"
