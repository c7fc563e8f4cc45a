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


def leaked_personal_data(stack: LocalStack) -> list[str]:
    """Every demo document, name, e-mail and phone found in any log the stack wrote."""
    from devstack import demo_data as demo

    logs = "".join(path.read_text(errors="replace") for path in stack.config.log_dir.glob("*.log"))
    assert "order accepted" in logs or "credit decided" in logs, "the logs are empty: nothing was checked"
    secrets = [c.cnpj for c in demo.COMPANIES] + [p.cpf for p in demo.PEOPLE]
    secrets += [p.name for p in demo.PEOPLE] + [p.email for p in demo.PEOPLE] + [p.phone for p in demo.PEOPLE]
    return [s for s in secrets if s in logs]
