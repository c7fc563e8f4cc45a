"""The drill's own arithmetic, verdicts and canary subjects, and the router's Route 53 semantics, without processes."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from devstack import demo_data as demo
from devstack.router import FailoverRouting, RegionHealth
from drill.failover import await_takeover, window_seconds
from drill.model import (
    DRILL,
    STANDBY,
    Canary,
    FailoverResult,
    HeldOut,
    MessageCounts,
    Objectives,
    RestoreResult,
    Switch,
)
from drill.report import Verdict, markdown
from drill.targets import canary_subjects_from, demo_subjects
from drill.targets.aws import failure

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def canary(seconds: float, key: str = "k", region: str = "us-east-1") -> Canary:
    return Canary("order", f"{key}{seconds}", T0 + timedelta(seconds=seconds), region, seconds - 0.05, seconds)


def test_no_missing_write_is_an_rpo_of_zero() -> None:
    assert window_seconds([], [canary(1), canary(2)]) == 0.0


def test_rpo_spans_from_the_last_durable_write_to_the_last_acknowledgement() -> None:
    # GIVEN writes acknowledged at 1.0, 1.1 (replicated) and 1.2, 1.3 (not replicated when the region died)
    present, missing = [canary(1.0), canary(1.1)], [canary(1.2), canary(1.3)]
    # THEN the lost window runs from 1.1 to 1.3
    assert window_seconds(missing, present) == pytest.approx(0.2)


def routing(threshold: int = 3) -> FailoverRouting:
    return FailoverRouting(RegionHealth("us-east-1", "p"), RegionHealth("us-west-2", "s"), threshold)


def test_the_router_fails_over_only_after_threshold_consecutive_failures() -> None:
    r = routing()
    for ok in (False, False, True, False, False):
        r.observe(r.primary, ok)
    assert r.active().name == "us-east-1"  # a success in between resets the count
    r.observe(r.primary, False)
    assert r.active().name == "us-west-2"
    assert [t["event"] for t in r.transitions] == ["unhealthy", "routing"]


def test_the_router_fails_back_after_threshold_successes_and_prefers_the_primary() -> None:
    r = routing(threshold=2)
    for _ in range(2):
        r.observe(r.primary, False)
    r.observe(r.primary, True)
    assert r.active().name == "us-west-2"
    r.observe(r.primary, True)
    assert r.active().name == "us-east-1"


def test_with_both_regions_unhealthy_the_router_answers_with_the_primary() -> None:
    r = routing(threshold=1)
    r.observe(r.primary, False)
    r.observe(r.secondary, False)
    assert r.active().name == "us-east-1"  # Route 53's rule for failover records


def result(**overrides: object) -> FailoverResult:
    failover = Switch(fault_at=T0, served_at=T0 + timedelta(seconds=5))
    failback = Switch(fault_at=T0 + timedelta(seconds=20), served_at=T0 + timedelta(seconds=24))
    fields: dict[str, object] = {
        "started_at": T0,
        "primary": "us-east-1",
        "secondary": "us-west-2",
        "replication_lag_ms": 10.0,
        "replication_lag_from_send_ms": 90.0,
        "reported_replication_lag_ms": 8.0,
        "reported_replication_lag_source": "the platform's own gauge",
        "failover": failover,
        "failback": failback,
        "canaries": [canary(1)],
        "requests": [],
        "lost_acknowledged_writes": [],
        "content_mismatches": [],
        "undecided_orders": [],
        "decisions_per_order": {"k1": 1},
        "duplicate_notifications": [],
        "finished_at": T0 + timedelta(seconds=30),
    }
    fields.update(overrides)
    return FailoverResult(**fields)  # type: ignore[arg-type]


def test_a_clean_drill_meets_its_objectives() -> None:
    verdict = Verdict(Objectives(rpo_seconds=1, rto_seconds=60), result(), None)
    assert verdict.met and verdict.as_dict()["rto_seconds"] == 5.0
    assert "objectives met" in markdown(verdict)


def test_the_report_shows_both_replication_figures_with_units_and_every_time_in_utc() -> None:
    # GIVEN a drill that measured 262.5 ms of replication where the platform reported 270 ms
    measured = {"replication_lag_ms": 262.5, "replication_lag_from_send_ms": 340.25}
    verdict = Verdict(Objectives(), result(**measured, reported_replication_lag_ms=270.0), None)
    # WHEN it is written for people
    text = markdown(verdict)
    # THEN both figures are there, each with its unit and saying what it is
    assert "probe write acknowledged → readable in us-west-2 | 262.5 ms (340.2 ms from sending the write) |" in text
    assert "reported by the platform: the platform's own gauge | 270.0 ms |" in text
    # AND every time is ISO-8601 UTC, with the zone stated
    assert "Fault at 2026-11-22T12:00:00.000Z, detected never, served by us-west-2 at 2026-11-22T12:00:05.000Z" in text
    assert "Drill from 2026-11-22T12:00:00.000Z to 2026-11-22T12:00:30.000Z" in text
    assert "Times are UTC" in text


def test_a_platform_that_reports_no_replication_figure_says_so() -> None:
    text = markdown(Verdict(Objectives(), result(reported_replication_lag_ms=None), None))
    assert "| — (not reported) |" in text


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"failover": Switch(fault_at=T0, served_at=T0 + timedelta(seconds=61))}, "RTO 61.0s exceeds"),
        ({"failover": Switch(fault_at=T0)}, "never served"),
        (
            {"failover": Switch(fault_at=T0, served_at=T0, missing_at_switch=["order:x"], missing_window_seconds=2.5)},
            "RPO 2.50s exceeds",
        ),
        ({"lost_acknowledged_writes": ["order:x"]}, "1 acknowledged writes lost"),
        ({"content_mismatches": ["decision:y"]}, "1 canaries differing"),
        ({"undecided_orders": ["order:z"]}, "not in a terminal state"),
        ({"decisions_per_order": {"k1": 2}}, "published"),
        ({"duplicate_notifications": ["k1:cpf"]}, "1 duplicate notifications"),
        ({"failback": None}, "failback never completed"),
    ],
)
def test_each_missed_objective_or_check_fails_the_drill(change: dict[str, object], expected: str) -> None:
    verdict = Verdict(Objectives(rpo_seconds=1, rto_seconds=60), result(**change), None)
    assert not verdict.met
    assert any(expected in problem for problem in verdict.failures), verdict.failures
    assert "OBJECTIVES MISSED" in markdown(verdict)


def test_a_restore_that_differs_fails_the_drill() -> None:
    restore = RestoreResult("ame-orders", "copy", T0, 3, 2, "a", "b", 1.0)
    verdict = Verdict(Objectives(), None, restore)
    assert verdict.failures == ["the restored table differs from the source at the restore point"]
    assert "`ame-orders` restored to 2026-11-22T12:00:00.000Z as `copy` in 1.00 s" in markdown(verdict)


def test_the_aws_canary_posts_what_the_local_one_does_unless_told_otherwise() -> None:
    # GIVEN no DRILL_CANARY_* variables THEN the AWS canary's order and application are the local demo's
    assert canary_subjects_from({}) == demo_subjects()


def test_the_aws_canary_writes_about_the_entities_the_environment_names() -> None:
    # GIVEN test entities the deployed partners know
    company, person = demo.GUARANTOR_CO.cnpj, demo.BRUNO.cpf
    env = {"DRILL_CANARY_CNPJ": company, "DRILL_CANARY_CPF": person, "DRILL_CANARY_AREA": "AREA-X"}
    # WHEN the AWS canary's subjects are read THEN they name those entities
    subjects = canary_subjects_from(env)
    assert subjects.order["requester"] == {"document": company} and subjects.order["area_id"] == "AREA-X"
    assert subjects.decision["cpf"] == person


def test_message_counts_say_how_often_each_order_was_published_and_which_notifications_repeat() -> None:
    # GIVEN one order published once, one twice, one never, and a notification sent twice
    counts = MessageCounts(Counter({"k1": 1, "k2": 2}), Counter({"k1:cpf": 1, "k2:cpf": 2}))
    # THEN
    assert counts.published(["k1", "k2", "k3"]) == {"k1": 1, "k2": 2, "k3": 0}
    assert counts.duplicate_notifications() == ["k2:cpf"]


def refusing(code: str) -> None:
    raise ClientError({"Error": {"Code": code, "Message": "refused"}}, "GetParameter")


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("AccessDeniedException", "permission missing (AccessDeniedException)"),
        ("ParameterNotFound", "not found (ParameterNotFound)"),
        ("ThrottlingException", "failed (ThrottlingException)"),
    ],
)
def test_a_failed_preflight_call_is_one_line_saying_what_and_why(code: str, says: str) -> None:
    assert failure("ssm:GetParameter /p in r", lambda: refusing(code)) == f"ssm:GetParameter /p in r: {says}"


def test_a_preflight_call_without_credentials_says_so_and_one_that_succeeds_says_nothing() -> None:
    def no_credentials() -> None:
        raise NoCredentialsError()

    assert failure("sts:GetCallerIdentity", no_credentials) == "sts:GetCallerIdentity: Unable to locate credentials"
    assert failure("route53:GetHealthCheckStatus x", lambda: None) is None


def test_the_report_writer_imports_its_plotting_library_when_the_drill_starts() -> None:
    # GIVEN a fresh interpreter WHEN it loads the drill's entry point (and runs nothing)
    code = "import sys, drill.__main__; assert 'matplotlib.figure' in sys.modules"
    # THEN matplotlib is already loaded: a missing package fails before the drill touches anything
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


class SwitchWatcher:
    """A drill target reduced to the switch: set by the standby after `set_after` reads, or never."""

    primary = "us-east-1"
    takeover_timeout_seconds = 0.3
    takeover_poll_seconds = 0.01

    def __init__(self, set_after: int | None) -> None:
        self.set_after = set_after
        self.reads = 0
        self.taken_over_by_drill: list[str] = []

    def switch_set(self) -> bool:
        self.reads += 1
        return self.set_after is not None and self.reads > self.set_after

    def take_over(self, region: str) -> None:
        self.taken_over_by_drill.append(region)


def test_the_drill_waits_for_the_standby_to_set_the_switch_and_never_sets_it_itself() -> None:
    watcher = SwitchWatcher(set_after=2)
    fault_at = datetime.now(UTC)
    held = await_takeover(watcher, fault_at)  # type: ignore[arg-type]
    assert held.standby_took_over and held.set_by == STANDBY and watcher.taken_over_by_drill == []
    assert held.takeover_after_fault_seconds is not None and held.takeover_after_fault_seconds >= 0
    assert held.switch_set_at >= fault_at


def test_a_standby_that_never_takes_over_gets_the_switch_set_by_the_drill_and_fails_it() -> None:
    watcher = SwitchWatcher(set_after=None)
    held = await_takeover(watcher, datetime.now(UTC))  # type: ignore[arg-type]
    assert held.set_by == DRILL and watcher.taken_over_by_drill == ["us-east-1"]
    held.primary_health = [503]
    verdict = Verdict(Objectives(), result(held_out=held), None)
    assert verdict.failures == [
        "the standby did not take over within 0.3 s of failing over: the drill set the switch itself"
    ]
    assert verdict.as_dict()["standby_took_over"] is False
    assert (
        "- The standby did NOT take over within 0.30 s of failing over: the drill set the switch itself."
        in markdown(verdict)
    )


def test_the_report_says_how_long_the_standby_took_to_take_over() -> None:
    held = HeldOut(switch_set_at=T0 + timedelta(seconds=12.5), primary_health=[503], takeover_timeout_seconds=60.0)
    held.takeover_after_fault_seconds = held.takeover_seconds(T0)
    verdict = Verdict(Objectives(), result(held_out=held), None)
    assert verdict.met and verdict.as_dict()["takeover_seconds"] == 12.5
    assert verdict.as_dict()["standby_took_over"] is True
    assert "- The standby's sweeper set the switch by itself, 12.50 s after the fault." in markdown(verdict)
