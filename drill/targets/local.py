"""The local two-region environment as a drill target: the one module of the drill that runs devstack.

It imports devstack only inside functions, so `--target aws` never loads the local runtime.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import boto3

from chalicelib.polling import wait_for
from drill.canary import ORDER_AMOUNT, CanarySubjects, decision_body
from drill.model import MessageCounts
from drill.targets.base import Names, Regions, Target

if TYPE_CHECKING:
    from devstack.regions import TwoRegionStack

LOCAL_REPLICATION_DELAY_MS = 250.0
"""The local stand-in replicates in milliseconds; holding changes back a quarter of a second models
global tables' sub-second lag, so the drill measures an RPO instead of finding an empty one."""


@contextmanager
def local_target(replication_delay_ms: float = LOCAL_REPLICATION_DELAY_MS) -> Iterator[LocalTarget]:
    """Brings the two-region environment up for one drill and tears it down after."""
    from devstack.regions import TwoRegionConfig, TwoRegionStack

    # Route 53 checks every 10 s with a threshold of 3; locally 1 s keeps the drill short, same rule.
    config = TwoRegionConfig.on_free_ports(
        replication_delay_ms=replication_delay_ms,
        check_interval=1.0,
        failure_threshold=3,
        sweep_after_seconds=3.0,
        sweep_interval_seconds=1.0,
        visibility_timeout=5,
    )
    with TwoRegionStack(config) as stack:
        yield LocalTarget(stack)


def demo_subjects() -> CanarySubjects:
    """The demo company with a quorum and the demo person with a bureau score."""
    from devstack import demo_data

    return CanarySubjects(
        order=demo_data.order_body(demo_data.ACME.cnpj, amount=ORDER_AMOUNT),
        decision=decision_body(demo_data.ANA.cpf),
    )


class LocalTarget(Target):
    name = "local"

    def __init__(self, stack: TwoRegionStack, stranded_window_seconds: float = 1.0) -> None:
        from devstack.regions import PRIMARY, SECONDARY

        self.stack = stack
        self.stranded_window = stranded_window_seconds
        self.primary, self.secondary = PRIMARY, SECONDARY
        self.public_url = stack.public_url
        self.replication_lag_source = (
            f"local replicator holding each change {stack.config.replication_delay_ms:g} ms, last change applied "
            "(stream record → written in the other region)"
        )
        env = stack.env()  # the local endpoint accepts the stack's placeholder credentials
        self._cloudwatch = boto3.client(
            "cloudwatch",
            region_name=SECONDARY,
            endpoint_url=stack.aws_url,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        self.data = Regions(
            (PRIMARY, SECONDARY),
            Names(),
            endpoint_url=stack.aws_url,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def canary_subjects(self) -> CanarySubjects:
        return demo_subjects()

    def api_headers(self) -> dict[str, str]:
        """A token of the demo credit area's client (every scope the canary needs: orders and decisions)."""
        from devstack import demo_data

        clients = self.stack.clients
        return clients.bearer(clients.for_area(demo_data.AREA, "credit.decide"))

    def regional_url(self, region: str) -> str:
        return self.stack.region_url(region)

    def replication_lag_ms(self) -> float | None:
        directions = self.stack.replication("status", "")["directions"]
        lags = [d["last_lag_ms"] for d in directions if d["last_lag_ms"] is not None]
        return max(lags) if lags else None

    def inject_fault(self, region: str) -> None:
        """A regional DynamoDB impairment, the API left running: only its deep health fails it over.

        Its worker dies first, `stranded_window` seconds before, so orders the API still accepts wait
        in the region's own queue (the stranded work the DR sweeper exists for); then replication out
        of the region stops and every DynamoDB call its processes make answers 500.
        """
        self.stack.stop_region(region, parts=("worker",))
        time.sleep(self.stranded_window)
        self.stack.replication("pause", region)
        self.stack.faults.impair("dynamodb")

    def switch_set(self) -> bool:
        from chalicelib.settings import FAILOVER_SWITCH_ALARM

        alarms = self._cloudwatch.describe_alarms(AlarmNames=[FAILOVER_SWITCH_ALARM])["MetricAlarms"]
        return bool(alarms) and alarms[0]["StateValue"] == "ALARM"

    def set_switch(self, out_of_service: bool) -> None:
        """The same writer as `devstack.switch` and the runbook, in the standby region of the local endpoint."""
        from chalicelib.adapters.failover_switch import set_primary_out_of_service

        set_primary_out_of_service(self._cloudwatch, out_of_service)

    def recover(self, region: str) -> None:
        """The impairment ends, data first: replication resumes, DynamoDB answers again, and the worker
        comes back, fenced: it receives nothing while the switch is set (neither does its sweeper sweep)."""
        self.stack.replication("resume", region)
        self.stack.faults.restore("dynamodb")
        self.stack.start_region(region, parts=("worker",))

    def fail_back(self, region: str) -> None:
        """The operator clears the switch; the primary's health passes again, routing prefers it (which
        stops the standby's sweeper), and the drill waits until replication has drained both ways."""
        super().fail_back(region)
        wait_for(lambda: self.stack.routing_status()["active"] == region, timeout=120, every=0.2)
        wait_for(self._replication_drained, timeout=120, every=0.2)

    def _replication_drained(self) -> bool:
        """Both directions caught up: no change waits longer than the modelled lag (plus 200 ms)."""
        directions = self.stack.replication("status", "")["directions"]
        return all(not d["paused"] and d["overdue_ms"] <= 200 for d in directions)

    def detected_unhealthy(self, region: str, since: datetime) -> datetime | None:
        for transition in self.stack.routing_status()["transitions"]:
            at = datetime.fromisoformat(transition["at"])
            if transition["event"] == "unhealthy" and transition["region"] == region and at >= since:
                return at
        return None

    def message_counts(self) -> MessageCounts:
        names = self.data.names
        return MessageCounts(
            results=self.data.sent(names.results_queue), notifications=self.data.sent(names.notifications_queue)
        )
