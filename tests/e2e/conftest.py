from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import LocalStack, StackConfig


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """API + worker + moto + simulator as real processes; short visibility so retries are quick."""
    log_dir: Path = tmp_path_factory.mktemp("stack-logs")
    config = StackConfig.on_free_ports(visibility_timeout=1, max_receive_count=2, log_dir=log_dir)
    with LocalStack(config) as running:
        yield running
