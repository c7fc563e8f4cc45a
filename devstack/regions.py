"""The two-region local environment: what a DR drill runs against on one machine.

One local AWS endpoint serves both regions; each region gets its own API (`chalice local`) and
worker (SQS handler + sweeper schedule); the replicator stands in for DynamoDB global tables and
the router for Route 53 failover routing, which is the public endpoint. `make run-dr` runs it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import requests

from chalicelib.settings import region_switch_parameter
from devstack.stack import ROOT, LocalStack, StackConfig, free_port, run_in_foreground, wait_until

PRIMARY, SECONDARY = "us-east-1", "us-west-2"


@dataclass
class TwoRegionConfig:
    router_port: int = 8000
    aws_port: int = 8100
    partners_port: int = 8101
    replicator_port: int = 8102
    api_ports: dict[str, int] = field(default_factory=lambda: {PRIMARY: 8010, SECONDARY: 8020})
    check_interval: float = 1.0
    failure_threshold: int = 3
    sweep_after_seconds: float = 30.0
    sweep_interval_seconds: float = 5.0
    replication_delay_ms: float = 0.0
    visibility_timeout: int = 10
    max_receive_count: int = 5
    log_dir: Path = ROOT / ".devstack" / "logs-dr"
    quiet: bool = True

    @classmethod
    def on_free_ports(cls, **overrides: Any) -> TwoRegionConfig:
        ports = {PRIMARY: free_port(), SECONDARY: free_port()}
        return cls(
            router_port=free_port(),
            aws_port=free_port(),
            partners_port=free_port(),
            replicator_port=free_port(),
            api_ports=ports,
            **overrides,
        )


class TwoRegionStack(LocalStack):
    def __init__(self, config: TwoRegionConfig) -> None:
        super().__init__(
            StackConfig(
                api_port=config.router_port,
                aws_port=config.aws_port,
                partners_port=config.partners_port,
                visibility_timeout=config.visibility_timeout,
                max_receive_count=config.max_receive_count,
                log_dir=config.log_dir,
                quiet=config.quiet,
            )
        )
        self.regional = config

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.regional.router_port}"

    @property
    def replicator_url(self) -> str:
        return f"http://127.0.0.1:{self.regional.replicator_port}"

    def region_url(self, region: str) -> str:
        return f"http://127.0.0.1:{self.regional.api_ports[region]}"

    def region_env(self, region: str) -> dict[str, str]:
        role = "primary" if region == PRIMARY else "dr"
        return {
            **self.env(),
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AME_ROLE": role,
            "AME_OUT_OF_SERVICE_PARAMETER": region_switch_parameter(region),
            "AME_PUBLIC_URL": self.public_url,  # the sweeper sweeps only where this name sends traffic
            "AME_SWEEP_AFTER_SECONDS": str(self.regional.sweep_after_seconds),
            "AME_SWEEP_INTERVAL_SECONDS": str(self.regional.sweep_interval_seconds),
        }

    def start(self) -> Self:
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        env = self.env()
        try:
            self.start_endpoint_and_partners(env)
            for region in (PRIMARY, SECONDARY):
                self.provision(self.region_env(region))
            replicator = self._spawn(
                "replicator",
                [
                    sys.executable,
                    "-m",
                    "devstack.replicator",
                    "--port",
                    str(self.regional.replicator_port),
                    "--delay-ms",
                    str(self.regional.replication_delay_ms),
                ],
                env,
                quiet=self.config.quiet,
            )
            for region in (PRIMARY, SECONDARY):
                self.start_region(region)
            router = self._spawn("router", self._router_argv(), env, quiet=self.config.quiet)
            wait_until(f"{self.replicator_url}/status", 15, replicator)
            wait_until(f"{self.public_url}/v1/health", 15, router)
        except BaseException:
            self.stop()
            raise
        return self

    def _router_argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "devstack.router",
            "--port",
            str(self.regional.router_port),
            "--primary",
            PRIMARY,
            self.region_url(PRIMARY),
            "--secondary",
            SECONDARY,
            self.region_url(SECONDARY),
            "--interval",
            str(self.regional.check_interval),
            "--threshold",
            str(self.regional.failure_threshold),
        ]

    def start_region(self, region: str, parts: tuple[str, ...] = ("api", "worker")) -> None:
        """The region's API and worker: what a region outage takes away and a recovery brings back."""
        env = self.region_env(region)
        if "worker" in parts:
            self.start_worker(f"worker-{region}", env)
        if "api" in parts:
            self.start_api(f"api-{region}", self.regional.api_ports[region], env)

    def stop_region(self, region: str, parts: tuple[str, ...] = ("worker", "api")) -> None:
        for name in (f"{part}-{region}" for part in parts):
            for entry in [e for e in self.processes if e[0] == name]:
                _, process = entry
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)  # a region lost, not a graceful shutdown
                process.wait()
                self.processes.remove(entry)

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
  logs             {logs}

Take the primary out:   kill its API, or put the SSM parameter
  {switch} = true on the local endpoint, and watch {public}/__router/status
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    config = TwoRegionConfig(quiet=False)
    stack = TwoRegionStack(config)
    run_in_foreground(
        stack,
        lambda: BANNER.format(
            public=stack.public_url,
            primary=PRIMARY,
            primary_url=stack.region_url(PRIMARY),
            secondary=SECONDARY,
            secondary_url=stack.region_url(SECONDARY),
            replicator=stack.replicator_url,
            aws=stack.aws_url,
            logs=config.log_dir,
            switch=region_switch_parameter(PRIMARY),
        ),
    )


if __name__ == "__main__":
    main()
