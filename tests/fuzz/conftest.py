"""The fuzz suite's stack (one of its own: the fuzzer writes customers, orders and decisions the e2e tests
must not see), the caller it fuzzes as (a token with every scope), and the tally of what it sent and got."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib.identity.model import Scope
from devstack.stack import LocalStack, StackConfig


def _give_schemathesis_its_node_ids() -> None:
    """schemathesis 4.32.5's lazy loader (`schemathesis.pytest.from_fixture`, the documented way to fuzz an
    app a fixture starts) renames each operation's report through `item._nodeid`, which pytest 9.2 replaced
    by `item._id` (a NodeId): without this, the first operation fails with AttributeError. Remove it once
    schemathesis follows pytest's rename."""
    from _pytest import nodes
    from _pytest.nodeid import coerce_node_id

    if not hasattr(nodes.Node, "_nodeid"):

        def set_id(node: nodes.Node, value: str) -> None:
            node._id = coerce_node_id(value)

        nodes.Node._nodeid = property(lambda node: node.nodeid, set_id)  # type: ignore[attr-defined]


_give_schemathesis_its_node_ids()

TALLY: collections.Counter[tuple[str, int]] = collections.Counter()
"""(operation id, status) -> requests sent by the fuzzer in this session."""


@pytest.fixture(scope="session")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """API + worker + moto + simulator + token issuer as real processes, with the demo clients."""
    log_dir: Path = tmp_path_factory.mktemp("fuzz-stack-logs")
    config = StackConfig.on_free_ports(visibility_timeout=1, max_receive_count=2, log_dir=log_dir)
    with LocalStack(config) as stack:
        yield stack


@dataclass(frozen=True)
class FuzzCaller:
    token: str
    area_id: str


@pytest.fixture(scope="session")
def fuzz_caller(fuzz_stack: LocalStack) -> FuzzCaller:
    """The stack's first client holding every scope (the demo AREA-CREDIT system), with its access token."""
    every = {scope.value for scope in Scope}
    client = next(c for c in fuzz_stack.clients.clients if every <= set(c.scopes))
    return FuzzCaller(fuzz_stack.clients.token_for(client), client.area_id)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    terminalreporter.section("fuzz counts by status")
    by_status = collections.Counter[int]()
    for (_, status), count in TALLY.items():
        by_status[status] += count
    terminalreporter.write_line("  ".join(f"{status}: {count}" for status, count in sorted(by_status.items())))
    for operation in sorted({op for op, _ in TALLY}):
        counts = {status: n for (op, status), n in sorted(TALLY.items()) if op == operation}
        line = ", ".join(f"{status}: {n}" for status, n in counts.items())
        terminalreporter.write_line(f"{operation:<24} {sum(counts.values()):>6}  ({line})")
    terminalreporter.write_line(f"{'total':<24} {sum(TALLY.values()):>6}")
