"""Every alarm pages with its severity (P1-P4, seed 001) and a runbook section that exists."""

from __future__ import annotations

import re
from pathlib import Path

from ame_infra.alerting import RUNBOOK, SEVERITIES
from ame_infra.mocked import Inventory
from tests.infra.test_stacks import ALARM

ROOT = Path(__file__).resolve().parents[2]
DESCRIPTION = re.compile(r"(P[1-4]) · runbook: (\S+)#([a-z0-9-]+) · \S")


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_alarm_names_its_severity_and_an_existing_runbook_section(stack: Inventory) -> None:
    sections = anchors((ROOT / RUNBOOK).read_text())
    declared = stack.of_type(ALARM)
    assert len(declared) > 20
    for alarm in declared:
        description = alarm.inputs.get("alarmDescription", "")
        match = DESCRIPTION.match(description)
        assert match, f"{alarm.name}: description must start 'P<n> · runbook: {RUNBOOK}#<anchor> · ': {description}"
        severity, path, anchor = match.groups()
        assert severity in SEVERITIES and path == RUNBOOK
        assert anchor in sections, f"{alarm.name}: no section #{anchor} in {RUNBOOK}"
        assert alarm.inputs["tags"] == {"severity": severity, "runbook": f"{RUNBOOK}#{anchor}"}


def test_the_app_metrics_alarms_watch_the_emf_namespace_and_service(stack: Inventory) -> None:
    app = {a.inputs["metricName"]: a for a in stack.of_type(ALARM) if a.inputs.get("namespace") == "AME/Platform"}
    assert {"OrdersDecided", "BreakerState", "PartnerErrors", "PartnerLatency", "OutboxLag", "SweeperRescues"} <= set(
        app
    )
    assert all(a.inputs["dimensions"]["service"] == "ame-platform" for a in app.values())
    assert app["OrdersDecided"].inputs["dimensions"]["verdict"] == "FAILED"
    assert app["BreakerState"].inputs["dimensions"]["state"] == "open"


def test_the_severities_are_seed_001s() -> None:
    assert list(SEVERITIES) == ["P1", "P2", "P3", "P4"]
