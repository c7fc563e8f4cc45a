from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import demo_data as demo
from devstack.stack import LocalStack, StackConfig
from devstack.tokens import ORDERS_SCOPES, LocalClient, LocalClients

CREDIT, CONSORTIUM, READ_ONLY = "ame-demo-credit", "ame-demo-consortium", "ame-demo-readonly"
"""The demo clients: AREA-CREDIT's system (every scope), AREA-CONSORTIUM's (orders only), AREA-CREDIT read-only."""
ODD_AREAS = ("AREA-NOPE", "AREA-LEGACY", demo.UNAVAILABLE_AREA)
"""Areas the parametrizer does not know, has retired, or cannot answer for: only their own systems may
place orders for them (anyone else's is 403 FORBIDDEN_AREA), so the suite registers one client each."""


def e2e_clients(path: Path) -> Path:
    """The demo clients and one per odd area, as a file for `AME_LOCAL_CLIENTS` (registered with the stack's issuer)."""
    odd = [LocalClient(f"e2e-{area.lower()}", secrets.token_urlsafe(32), area, ORDERS_SCOPES) for area in ODD_AREAS]
    LocalClients.at("http://127.0.0.1:1", (*LocalClients.demo("http://127.0.0.1:1").clients, *odd)).write(path)
    return path


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """API + worker + moto + simulator + token issuer as real processes; short visibility so retries are quick."""
    log_dir: Path = tmp_path_factory.mktemp("stack-logs")
    local_clients = e2e_clients(tmp_path_factory.mktemp("clients") / "e2e-clients.json")
    config = StackConfig.on_free_ports(
        visibility_timeout=1, max_receive_count=2, log_dir=log_dir, local_clients=local_clients
    )
    with LocalStack(config) as running:
        yield running


@pytest.fixture(scope="session")
def clients(stack: LocalStack) -> LocalClients:
    """The clients the stack's issuer registered (the demo ones), with their tokens cached."""
    return stack.clients


def auth(stack: LocalStack, client: str = CREDIT) -> dict[str, str]:
    """`Authorization: Bearer` for `client`: AREA-CREDIT's system, holding every scope, unless named."""
    return stack.clients.bearer(client)


def auth_for_order(stack: LocalStack, body: dict[str, Any]) -> dict[str, str]:
    """The bearer of a system of the order's own area (AREA-CREDIT's for a body without a usable one)."""
    area = body.get("area_id")
    try:
        return stack.clients.bearer(
            stack.clients.for_area(area if isinstance(area, str) else demo.AREA, "orders.write")
        )
    except KeyError:
        return auth(stack)


def leaked_personal_data(stack: LocalStack) -> list[str]:
    """Every demo document, name, e-mail and phone found in any log the stack wrote."""
    from devstack import demo_data as demo

    logs = "".join(path.read_text(errors="replace") for path in stack.config.log_dir.glob("*.log"))
    assert "order accepted" in logs or "credit decided" in logs, "the logs are empty: nothing was checked"
    secrets = [c.cnpj for c in demo.COMPANIES] + [p.cpf for p in demo.PEOPLE]
    secrets += [p.name for p in demo.PEOPLE] + [p.email for p in demo.PEOPLE] + [p.phone for p in demo.PEOPLE]
    return [s for s in secrets if s in logs]
