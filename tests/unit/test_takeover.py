"""The standby's latch: the dr sweeper sets the failover switch when every probe of the primary fails."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from chalicelib import bootstrap
from chalicelib.adapters.failover_switch import CloudWatchSwitchLatch
from chalicelib.adapters.peer_health import HttpPeerHealth
from chalicelib.events.orders import sweep_stuck_orders
from chalicelib.failover import FailoverSwitch
from chalicelib.settings import PARTNER_URL_VARIABLES, ConfigurationError, Settings
from chalicelib.takeover import PeerHealth, Probing, SwitchLatch, Takeover

FENCED = "503 REGION_FENCED"


class ScriptedPeer(PeerHealth):
    """Answers from a script, one entry per probe (None: 200)."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.probes = 0

    def failure(self) -> str | None:
        self.probes += 1
        return self.answers.pop(0)


class Switch(FailoverSwitch, SwitchLatch):
    """The alarm as both ports see it; `reads` lets a test change it between the first read and the write."""

    def __init__(self, out: bool = False, reads: list[bool] | None = None) -> None:
        self.out = out
        self.reads = reads
        self.sets = 0

    def primary_out_of_service(self) -> bool:
        return self.reads.pop(0) if self.reads else self.out

    def hold_primary_out(self) -> None:
        self.sets += 1
        self.out = True


def takeover(peer: PeerHealth, switch: Switch, sleeps: list[float] | None = None) -> Takeover:
    pauses = sleeps if sleeps is not None else []
    return Takeover(peer, switch, switch, Probing(probes=3, interval_seconds=10.0), sleep=pauses.append)


def test_every_probe_failing_sets_the_switch_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    peer, switch = ScriptedPeer("503 SERVICE_UNAVAILABLE", "ReadTimeout", "ConnectionError"), Switch()
    sleeps: list[float] = []
    watch = takeover(peer, switch, sleeps).watch()
    assert watch.took_over and switch.sets == 1 and peer.probes == 3
    assert sleeps == [10.0, 10.0]  # a few seconds apart, within one run
    assert watch.failures == ("503 SERVICE_UNAVAILABLE", "ReadTimeout", "ConnectionError")
    assert any(r.getMessage().startswith("standby took over") for r in caplog.records)


@pytest.mark.parametrize("answers", [(None,), ("503", None), ("ReadTimeout", "503", None)])
def test_one_answer_from_the_primary_leaves_the_switch_alone(answers: tuple[str | None, ...]) -> None:
    peer, switch = ScriptedPeer(*answers), Switch()
    watch = takeover(peer, switch).watch()
    assert not watch.took_over and switch.sets == 0
    assert peer.probes == len(answers)  # it stops probing at the first 200


def test_a_fenced_primary_counts_as_down() -> None:
    switch = Switch()
    assert takeover(ScriptedPeer(FENCED, FENCED, FENCED), switch).watch().took_over
    assert switch.out


def test_a_switch_already_set_is_left_set_and_the_primary_is_not_probed() -> None:
    peer, switch = ScriptedPeer(), Switch(out=True)
    watch = takeover(peer, switch).watch()
    assert not watch.probed and not watch.took_over and peer.probes == 0 and switch.sets == 0
    assert switch.out  # never cleared


def test_a_switch_set_during_the_run_is_not_written_again() -> None:
    switch = Switch(reads=[False, True])
    assert not takeover(ScriptedPeer("503", "503", "503"), switch).watch().took_over
    assert switch.sets == 0


def test_the_latch_can_only_set_the_switch() -> None:
    # clearing is the operator's step: the port offers nothing else, and its CloudWatch adapter writes ALARM only
    assert [name for name in vars(SwitchLatch) if not name.startswith("_")] == ["hold_primary_out"]
    calls: list[tuple[str, dict[str, Any]]] = []

    class CloudWatch:
        def put_metric_data(self, **kwargs: Any) -> None:
            calls.append(("put_metric_data", kwargs))

        def set_alarm_state(self, **kwargs: Any) -> None:
            calls.append(("set_alarm_state", kwargs))

    CloudWatchSwitchLatch(CloudWatch(), "the-switch").hold_primary_out()
    (metric,) = calls[0][1]["MetricData"]
    assert metric["Value"] == 1.0
    assert calls[1][1]["AlarmName"] == "the-switch" and calls[1][1]["StateValue"] == "ALARM"


@pytest.mark.parametrize("probing", [Probing(1, 30.0), Probing(3, 2.5), Probing(2, 5.0)])
def test_probes_must_outlast_the_primarys_switch_cache(probing: Probing) -> None:
    # a primary answers "fenced" for up to 5 s after an operator cleared the switch: a shorter run could undo failback
    with pytest.raises(ValueError, match="spanning more than 5 s"):
        Takeover(ScriptedPeer(), Switch(), Switch(), probing)


class Response:
    def __init__(self, status: int, body: Any = None) -> None:
        self.status_code = status
        self._body = body

    def json(self) -> Any:
        if self._body is None:
            raise ValueError("no JSON")
        return self._body


class Session:
    def __init__(self, answer: Response | Exception) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def get(self, url: str, **kwargs: Any) -> Response:
        self.calls.append({"url": url, **kwargs})
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("answer", "failure"),
    [
        (Response(200, {"status": "ok"}), None),
        (Response(503, {"error": {"code": "REGION_FENCED", "message": "fenced"}}), FENCED),
        (
            Response(503, {"error": {"code": "SERVICE_UNAVAILABLE", "message": "dynamodb is unavailable"}}),
            "503 SERVICE_UNAVAILABLE",
        ),
        (Response(502), "502"),
        (Response(403, {"message": "Forbidden"}), "403"),
        (requests.ReadTimeout("slow"), "ReadTimeout"),
        (requests.ConnectionError("refused"), "ConnectionError"),
    ],
)
def test_the_http_probe_names_what_it_got_never_the_message(answer: Response | Exception, failure: str | None) -> None:
    session = Session(answer)
    probe = HttpPeerHealth("https://primary.example/api/v1/health", 4.0, session)  # type: ignore[arg-type]
    assert probe.failure() == failure
    assert session.calls == [{"url": "https://primary.example/api/v1/health", "timeout": 4.0, "allow_redirects": False}]


BASE = dict.fromkeys(PARTNER_URL_VARIABLES.values(), "http://partners.invalid")


def settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, "AME_FAILOVER_SWITCH_REGION": "us-west-2", **env})


def test_only_a_standby_with_the_primarys_health_url_watches_it() -> None:
    url = {"AME_PEER_HEALTH_URL": "http://127.0.0.1:1/v1/health"}
    assert bootstrap._takeover(settings(AME_ROLE="primary", **url)) is None  # the primary never probes
    assert bootstrap._takeover(settings(AME_ROLE="dr")) is None  # unset: the latch is off
    assert isinstance(bootstrap._takeover(settings(AME_ROLE="dr", AWS_REGION="us-west-2", **url)), Takeover)


def test_probes_too_close_together_stop_the_standby_at_start() -> None:
    bad = settings(AME_ROLE="dr", AME_PEER_HEALTH_URL="http://x/v1/health", AME_PEER_PROBE_INTERVAL_SECONDS="1")
    with pytest.raises(ConfigurationError, match="AME_PEER_PROBE_INTERVAL_SECONDS"):
        bootstrap._takeover(bad)


@pytest.fixture
def installed(container: bootstrap.Container) -> Iterator[Callable[[Takeover], None]]:
    yield lambda watch: bootstrap.use_container(dataclasses.replace(container, takeover=watch))
    bootstrap.use_container(container)


def test_the_dr_sweeper_watches_then_sweeps(installed: Callable[[Takeover], None]) -> None:
    switch = Switch()
    installed(takeover(ScriptedPeer("ConnectionError", "ConnectionError", "ConnectionError"), switch))
    assert sweep_stuck_orders() == {"active": True, "requeued": 0, "took_over": True}
    assert switch.out


def test_a_watch_that_fails_is_logged_and_the_sweep_still_runs(
    installed: Callable[[Takeover], None], caplog: pytest.LogCaptureFixture
) -> None:
    class Refused(Switch):
        def hold_primary_out(self) -> None:
            raise RuntimeError("AccessDenied")

    installed(takeover(ScriptedPeer("503", "503", "503"), Refused()))
    assert sweep_stuck_orders() == {"active": True, "requeued": 0, "took_over": False}
    assert [r.levelname for r in caplog.records if r.getMessage() == "the watch on the primary failed"] == ["ERROR"]
