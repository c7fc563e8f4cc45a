"""Per-suite wall time, and `make test`'s stage summary, printed above pytest's closing line.

`make test` records install, lint and type-check seconds in the file `AME_STAGE_TIMES` names;
this plugin adds how long each suite (tests/<suite>/...) took, from its first test's start to its
last test's end, fixtures included.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

_spans: dict[str, list[float]] = {}


def suite_of(nodeid: str) -> str:
    parts = nodeid.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else "other"


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    span = _spans.setdefault(suite_of(nodeid), [time.monotonic(), time.monotonic()])
    span[1] = time.monotonic()


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _spans[suite_of(nodeid)][1] = time.monotonic()


def recorded_stages(path: str | None) -> list[tuple[str, float]]:
    if not path or not Path(path).exists():
        return []
    stages = []
    for line in Path(path).read_text().splitlines():
        name, _, seconds = line.partition("\t")
        stages.append((name, float(seconds)))
    return stages


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    stages = recorded_stages(os.environ.get("AME_STAGE_TIMES"))
    stages += [(suite, end - start) for suite, (start, end) in _spans.items()]
    if stages:
        terminalreporter.section("stage times")
        for name, seconds in stages:
            terminalreporter.write_line(f"{name:<14} {seconds:>8.2f} s")
        terminalreporter.write_line(f"{'total':<14} {sum(s for _, s in stages):>8.2f} s")
