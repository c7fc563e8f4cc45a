"""The two-region local environment: what a DR drill runs against on one machine.

One local AWS endpoint serves both regions; each region gets its own API (`chalice local`) and
worker (SQS handler + sweeper schedule); the replicator stands in for DynamoDB global tables and
the router for Route 53 failover routing, which is the public endpoint. `make run-dr` runs it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import requests

from chalicelib.settings import FAILOVER_SWITCH_ALARM
from devstack.faults import FaultProxy
from devstack.issuer import DEFAULT_KEY
from devstack.stack import (
    AWS_USERS_FILE,
    CLIENTS_FILE,
    ROOT,
    ProcessGroup,
    RuntimeConfig,
    StartupError,
    claim_check_bucket,
    free_ports,
    local_clients_from_env,
    ports_from_env,
    run_in_foreground,
    sweeper_of,
    wait_until,
)
from devstack.tokens import LocalClients

PRIMARY, SECONDARY = "us-east-1", "us-west-2"
TWO_REGION_PORTS = {
    "AME_API_PORT": 8000,  # the public endpoint (the failover router)
    "AME_AWS_PORT": 8100,
    "AME_PARTNERS_PORT": 8101,
    "AME_REPLICATOR_PORT": 8102,
    "AME_ISSUER_PORT": 8103,
    "AME_PRIMARY_API_PORT": 8010,
    "AME_DR_API_PORT": 8020,
}
"""`make run-dr`'s ports by the variable that moves each."""


@dataclass
class TwoRegionConfig:
    router_port: int = TWO_REGION_PORTS["AME_API_PORT"]
    aws_port: int = TWO_REGION_PORTS["AME_AWS_PORT"]
    partners_port: int = TWO_REGION_PORTS["AME_PARTNERS_PORT"]
    replicator_port: int = TWO_REGION_PORTS["AME_REPLICATOR_PORT"]
    issuer_port: int = TWO_REGION_PORTS["AME_ISSUER_PORT"]
    api_ports: dict[str, int] = field(
        default_factory=lambda: {
            PRIMARY: TWO_REGION_PORTS["AME_PRIMARY_API_PORT"],
            SECONDARY: TWO_REGION_PORTS["AME_DR_API_PORT"],
        }
    )
    check_interval: float = 1.0
    failure_threshold: int = 3
    sweep_after_seconds: float = 30.0
    sweep_interval_seconds: float = 5.0
    """EventBridge runs the sweeper every minute; locally every few seconds, so the standby's takeover (the dr
    sweeper's watch on the primary) acts within seconds of the router failing over."""
    peer_probes: int = 3
    peer_probe_interval_seconds: float = 3.0
    """The dr sweeper's probes of the primary: 3, 3 s apart (AWS: 10 s), spanning more than the switch cache."""
    peer_probe_timeout_seconds: float = 2.0
    replication_delay_ms: float = 0.0
    visibility_timeout: int = 10
    max_receive_count: int = 5
    log_dir: Path = ROOT / ".devstack" / "logs-dr"
    quiet: bool = True
    clients_file: Path | None = None
    """As RuntimeConfig's: None is a temporary file of its own (`make run-dr` writes .devstack/clients.json)."""
    local_clients: Path | None = None
    issuer_key: Path = DEFAULT_KEY
    aws_users_file: Path | None = None
    """As RuntimeConfig's (`make run-dr` writes .devstack/aws-users.json)."""

    @classmethod
    def on_free_ports(cls, **overrides: Any) -> TwoRegionConfig:
        return cls.from_ports(dict(zip(TWO_REGION_PORTS, free_ports(len(TWO_REGION_PORTS)), strict=True)), **overrides)

    @classmethod
    def from_ports(cls, ports: dict[str, int], **overrides: Any) -> TwoRegionConfig:
        return cls(
            router_port=ports["AME_API_PORT"],
            aws_port=ports["AME_AWS_PORT"],
            partners_port=ports["AME_PARTNERS_PORT"],
            replicator_port=ports["AME_REPLICATOR_PORT"],
            issuer_port=ports["AME_ISSUER_PORT"],
            api_ports={PRIMARY: ports["AME_PRIMARY_API_PORT"], SECONDARY: ports["AME_DR_API_PORT"]},
            **overrides,
        )

    def ports(self) -> dict[str, int]:
        """Each port the environment listens on, by the variable that sets it (`from_ports` inverts it)."""
        return {
            "AME_API_PORT": self.router_port,
            "AME_AWS_PORT": self.aws_port,
            "AME_PARTNERS_PORT": self.partners_port,
            "AME_REPLICATOR_PORT": self.replicator_port,
            "AME_ISSUER_PORT": self.issuer_port,
            "AME_PRIMARY_API_PORT": self.api_ports[PRIMARY],
            "AME_DR_API_PORT": self.api_ports[SECONDARY],
        }

    def runtime(self) -> RuntimeConfig:
        """What both regions' processes share; region and role are set per region (`region_env`)."""
        return RuntimeConfig(
            aws_port=self.aws_port,
            partners_port=self.partners_port,
            issuer_port=self.issuer_port,
            clients_file=self.clients_file,
            aws_users_file=self.aws_users_file,
            local_clients=self.local_clients,
            issuer_key=self.issuer_key,
            visibility_timeout=self.visibility_timeout,
            max_receive_count=self.max_receive_count,
            log_dir=self.log_dir,
            quiet=self.quiet,
        )


class TwoRegionStack:
    """Both regions on one local AWS endpoint, with the replicator and the router between them.

    It holds the local runtime's process group rather than being a one-region stack: the public
    port here is the router's, and each region has an API port of its own.
    """

    def __init__(self, config: TwoRegionConfig) -> None:
        self.config = config
        self.group = ProcessGroup(config.runtime())
        self.faults = FaultProxy(self.group.aws_url, PRIMARY)
        """The primary's processes reach the local AWS endpoint through it: a drill impairs its DynamoDB there."""

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.config.router_port}"

    def ports(self) -> dict[str, int]:
        return self.config.ports()

    @property
    def aws_url(self) -> str:
        return self.group.aws_url

    @property
    def issuer_url(self) -> str:
        return self.group.issuer_url

    @property
    def clients(self) -> LocalClients:
        """The OAuth clients both regions' APIs trust (one issuer stands in for both regions' user pools)."""
        return self.group.clients

    @property
    def clients_file(self) -> Path:
        return self.group.clients_file

    @property
    def replicator_url(self) -> str:
        return f"http://127.0.0.1:{self.config.replicator_port}"

    def region_url(self, region: str) -> str:
        return f"http://127.0.0.1:{self.config.api_ports[region]}"

    def env(self) -> dict[str, str]:
        return self.group.env()

    def region_env(self, region: str) -> dict[str, str]:
        role = "primary" if region == PRIMARY else "dr"
        endpoint = {"AWS_ENDPOINT_URL": self.faults.url} if region == PRIMARY else {}
        return {
            **self.env(),
            **endpoint,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AME_ROLE": role,
            "AME_CLAIM_CHECK_BUCKET": claim_check_bucket(region),  # each region's own, as in AWS
            "AME_FAILOVER_SWITCH_REGION": SECONDARY,  # the switch lives in the standby: set from the healthy side
            "AME_FAILOVER_SWITCH_ALARM": FAILOVER_SWITCH_ALARM,
            "AME_PUBLIC_URL": self.public_url,  # the sweeper sweeps only where this name sends traffic
            "AME_SWEEP_AFTER_SECONDS": str(self.config.sweep_after_seconds),
            "AME_SWEEP_INTERVAL_SECONDS": str(self.config.sweep_interval_seconds),
        }

    def sweeper_env(self, region: str) -> dict[str, str]:
        """The dr sweeper watches the primary's own API past the router, as the dr stack's sweeper watches prod's
        regional URL (`ame-platform:peerHealthUrl`), and takes over when it stops answering."""
        if region == PRIMARY:
            return {}
        return {
            "AME_PEER_HEALTH_URL": f"{self.region_url(PRIMARY)}/v1/health",
            "AME_PEER_PROBES": str(self.config.peer_probes),
            "AME_PEER_PROBE_INTERVAL_SECONDS": str(self.config.peer_probe_interval_seconds),
            "AME_PEER_PROBE_TIMEOUT_SECONDS": str(self.config.peer_probe_timeout_seconds),
        }

    def start(self) -> Self:
        self.group.launch(self._start_every_process)
        return self

    def _start_every_process(self, env: dict[str, str]) -> None:
        self.group.start_shared_services(env)
        self.faults.start()
        for region in (PRIMARY, SECONDARY):
            self.group.provision(self.region_env(region))
        replicator = self.group.spawn("replicator", self._replicator_argv(), env, quiet=self.config.quiet)
        for region in (PRIMARY, SECONDARY):
            self.start_region(region, ("api",))
        router = self.group.spawn("router", self._router_argv(), env, quiet=self.config.quiet)
        wait_until(f"{self.replicator_url}/status", 15, replicator)
        wait_until(f"{self.public_url}/v1/health", 15, router)
        for region in (PRIMARY, SECONDARY):  # last: each sweeper asks the public endpoint who serves
            self.start_region(region, ("worker",))

    def exited(self) -> list[str]:
        return self.group.exited()

    def stop(self) -> None:
        self.group.stop()
        self.faults.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _replicator_argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "devstack.replicator",
            "--port",
            str(self.config.replicator_port),
            "--delay-ms",
            str(self.config.replication_delay_ms),
        ]

    def _router_argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "devstack.router",
            "--port",
            str(self.config.router_port),
            "--primary",
            PRIMARY,
            self.region_url(PRIMARY),
            "--secondary",
            SECONDARY,
            self.region_url(SECONDARY),
            "--interval",
            str(self.config.check_interval),
            "--threshold",
            str(self.config.failure_threshold),
        ]

    def start_region(self, region: str, parts: tuple[str, ...] = ("api", "worker")) -> None:
        """The region's API and worker: what a region outage takes away and a recovery brings back."""
        env = self.region_env(region)
        if "worker" in parts:
            self.group.start_worker(f"worker-{region}", env, self.sweeper_env(region))
        if "api" in parts:
            # The router checks each API every second: its request lines stay in the API's log, off the banner.
            self.group.start_api(f"api-{region}", self.config.api_ports[region], env, quiet=True)

    def stop_region(self, region: str, parts: tuple[str, ...] = ("worker", "api")) -> None:
        """A region lost, not a graceful shutdown: its processes are killed (the worker's sweeper with it)."""
        for part in parts:
            self.group.kill(f"{part}-{region}")
            if part == "worker":
                self.group.kill(sweeper_of(f"{part}-{region}"))

    def replication(self, action: str, region: str) -> dict[str, Any]:
        """`pause`/`resume` the flow out of a region, or `status` (region ignored)."""
        if action == "status":
            response = requests.get(f"{self.replicator_url}/status", timeout=5)
        else:
            response = requests.post(f"{self.replicator_url}/{action}?region={region}", timeout=5)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def routing_status(self) -> dict[str, Any]:
        body: dict[str, Any] = requests.get(f"{self.public_url}/__router/status", timeout=5).json()
        return body


BANNER = """
ame-platform, two regions (Ctrl-C stops everything)

  public endpoint  {public}   (failover router: Route 53 stand-in)
  {primary:<16} {primary_url}   (primary API; worker + sweeper)
  {secondary:<16} {secondary_url}   (DR API; worker + sweeper)
  replication      {replicator}/status   (global tables stand-in)
  local AWS        {aws}
  token issuer     {issuer}   (clients: {clients_file})
  logs             {logs}

Take the primary out of service (the failover switch: an alarm in {secondary}, set from the standby
side), watch the router fail over after {threshold} failed checks, then put it back (failback is this step):
  {on_endpoint}.venv/bin/python -m devstack.switch {primary} out
  curl -s {public}/__router/status
  {on_endpoint}.venv/bin/python -m devstack.switch {primary} in
"""


def on_endpoint(aws_port: int) -> str:
    """What the switch command needs in front to reach this endpoint: it reads AME_AWS_PORT, else 8100."""
    return "" if aws_port == TWO_REGION_PORTS["AME_AWS_PORT"] else f"AME_AWS_PORT={aws_port} "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    try:
        ports = ports_from_env(TWO_REGION_PORTS)
        config = TwoRegionConfig.from_ports(
            ports,
            quiet=False,
            clients_file=CLIENTS_FILE,
            local_clients=local_clients_from_env(),
            aws_users_file=AWS_USERS_FILE,
        )
    except StartupError as bad:
        print(f"stopping: could not start: {bad}", file=sys.stderr)
        raise SystemExit(1) from None
    stack = TwoRegionStack(config)
    status = run_in_foreground(
        stack,
        lambda: BANNER.format(
            public=stack.public_url,
            primary=PRIMARY,
            primary_url=stack.region_url(PRIMARY),
            secondary=SECONDARY,
            secondary_url=stack.region_url(SECONDARY),
            replicator=stack.replicator_url,
            aws=stack.aws_url,
            issuer=stack.issuer_url,
            clients_file=stack.clients_file,
            logs=config.log_dir,
            threshold=config.failure_threshold,
            on_endpoint=on_endpoint(config.aws_port),
        ),
    )
    raise SystemExit(status)


if __name__ == "__main__":
    main()
