from __future__ import annotations

from types import ModuleType

import pytest

from devstack.worker import load_app

pytest_plugins = ["tests.stage_times"]


@pytest.fixture(scope="session")
def chalice_module() -> ModuleType:
    """app/app.py, loaded as Lambda loads it."""
    return load_app()
