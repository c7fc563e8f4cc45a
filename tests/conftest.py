from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def chalice_module() -> ModuleType:
    """app/app.py loaded under its own name, as Lambda would load it from the package root."""
    spec = importlib.util.spec_from_file_location("ame_app", ROOT / "app" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
