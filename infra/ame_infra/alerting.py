"""What every alarm says to the person it pages: its severity and the runbook section to open.

Severities as seed 001 (§7.3.2, and its escalation matrix) defines them:
P1 critical, user impact, act now (15 min); P2 high, potential degradation, act within 30 min to 1 h;
P3 medium, non-critical, within a working day; P4 low, informative. Every alarm's description starts
`P2 · runbook: docs/runbooks.md#partner-circuit-open · ...`, and its tags carry `severity` and `runbook`
(tests/infra check each anchor exists in the runbook).
"""

from __future__ import annotations

from typing import Any

import pulumi

RUNBOOK = "docs/runbooks.md"
SEVERITIES = {
    "P1": "critical: user impact, act now (15 min)",
    "P2": "high: degradation likely, act within 30 min",
    "P3": "medium: non-critical, act within a working day",
    "P4": "low: informative, no immediate action",
}


def paging(severity: str, anchor: str, text: pulumi.Input[str]) -> dict[str, Any]:
    """`alarm_description` and `tags` for a MetricAlarm: the severity, the runbook section, what it means."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {sorted(SEVERITIES)}, not {severity!r}")
    runbook = f"{RUNBOOK}#{anchor}"
    prefix = f"{severity} · runbook: {runbook} · "
    description = prefix + text if isinstance(text, str) else pulumi.Output.concat(prefix, text)
    return {"alarm_description": description, "tags": {"severity": severity, "runbook": runbook}}
