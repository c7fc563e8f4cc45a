"""The deployed prod and dr stacks as a drill target, named by their `pulumi stack output --json`.

Nothing here runs the local environment: a drill against AWS needs only boto3, requests and
the stacks' outputs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from chalicelib.settings import REGION_HEADER, region_switch_parameter
from drill.canary import ORDER_AMOUNT, CanarySubjects, decision_body
from drill.targets.base import Names, Regions, Target


@dataclass(frozen=True)
class StackOutputs:
    """`pulumi stack output --json` of one stack."""

    region: str
    api_url: str
    regional_api_url: str
    health_check_id: str
    table_names: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> StackOutputs:
        raw = json.loads(path.read_text())
        return cls(raw["region"], raw["api_url"], raw["regional_api_url"], raw["health_check_id"], raw["table_names"])


def canary_subjects_from(env: Mapping[str, str]) -> CanarySubjects:
    """Test entities the deployed partners know, from `DRILL_CANARY_*`.

    The defaults are the local demo's company with a quorum and person with a bureau score
    (a unit test holds them equal), so a stack whose partners serve the demo data needs none.
    """
    order: dict[str, Any] = {
        "area_id": env.get("DRILL_CANARY_AREA", "AREA-CREDIT"),
        "product": "CCB",
        "power_code": env.get("DRILL_CANARY_POWER", "SIGN_CREDIT"),
        "platform": env.get("DRILL_CANARY_PLATFORM", "BANKLINE"),
        "signature_method": "DIGITAL",
        "amount": ORDER_AMOUNT,
        "requester": {"document": env.get("DRILL_CANARY_CNPJ", "11111111000191")},
        "guarantors": [],
    }
    return CanarySubjects(order=order, decision=decision_body(env.get("DRILL_CANARY_CPF", "70000000159")))


class AwsTarget(Target):
    """The deployed stacks. `endpoint_url` points every client at a local endpoint for tests."""

    name = "aws"

    def __init__(self, prod: StackOutputs, dr: StackOutputs, endpoint_url: str | None = None) -> None:
        self.prod, self.dr = prod, dr
        self.primary, self.secondary = prod.region, dr.region
        self.public_url = prod.api_url
        names = Names(orders_table=prod.table_names["orders"], credit_table=prod.table_names["credit"])
        self.replication_lag_source = (
            f"CloudWatch AWS/DynamoDB ReplicationLatency of {names.orders_table} into {self.secondary}, "
            "highest 5-minute average of the last 15 minutes"
        )
        self.data = Regions((self.primary, self.secondary), names, endpoint_url=endpoint_url)
        self._ssm = {
            r: boto3.client("ssm", region_name=r, endpoint_url=endpoint_url) for r in (self.primary, self.secondary)
        }
        self._route53 = boto3.client("route53", region_name="us-east-1", endpoint_url=endpoint_url)
        self._cloudwatch = boto3.client("cloudwatch", region_name=self.primary, endpoint_url=endpoint_url)

    def canary_subjects(self) -> CanarySubjects:
        return canary_subjects_from(os.environ)

    def outputs(self, region: str) -> StackOutputs:
        return self.prod if region == self.primary else self.dr

    def regional_url(self, region: str) -> str:
        return self.outputs(region).regional_api_url

    def plan(self) -> list[str]:
        """Every step `failover --target aws` takes, for `--dry-run`."""
        p, s = self.primary, self.secondary
        return [
            f"preflight: GET {self.regional_url(p)}/v1/health and {self.regional_url(s)}/v1/health must answer 200",
            f"preflight: Route 53 health checks {self.prod.health_check_id} and {self.dr.health_check_id} healthy",
            f"preflight: CloudWatch AWS/DynamoDB ReplicationLatency for {self.data.names.orders_table} {p} -> {s}",
            f"traffic: canary orders and credit decisions through {self.public_url}, each acknowledged write read back",
            f"fault: ssm put-parameter --region {p} --name {region_switch_parameter(p)} --value true --overwrite",
            f"measure RTO: until a canary write and read are answered by {s} ({REGION_HEADER})",
            f"measure RPO: acknowledged canaries missing in {s} (dynamodb get-item --consistent-read)",
            f"hold: serve from {s}; its sweeper re-queues orders stuck in PROCESSING",
            f"failback: ssm put-parameter --region {p} --name {region_switch_parameter(p)} --value false --overwrite",
            f"measure: until a canary write and read are answered by {p}; canaries acknowledged by {s} missing in {p}",
            "verify: every acknowledged canary in both regions, identical; every canary order in a terminal state",
            "report: drill-report/report.json, report.md, timeline.png; exit 1 if an objective was missed",
        ]

    def set_switch(self, region: str, out_of_service: bool) -> None:
        self._ssm[region].put_parameter(
            Name=region_switch_parameter(region),
            Value="true" if out_of_service else "false",
            Type="String",
            Overwrite=True,
        )

    def inject_fault(self, region: str) -> None:
        self.set_switch(region, out_of_service=True)

    def recover(self, region: str) -> None:
        self.set_switch(region, out_of_service=False)

    def detected_unhealthy(self, region: str, since: datetime) -> datetime | None:
        checks = self._route53.get_health_check_status(HealthCheckId=self.outputs(region).health_check_id)
        statuses = [o["StatusReport"]["Status"] for o in checks["HealthCheckObservations"]]
        failing = sum(1 for status in statuses if not status.startswith("Success"))
        return datetime.now(UTC) if statuses and failing * 2 > len(statuses) else None

    def replication_lag_ms(self) -> float | None:
        end = datetime.now(UTC)
        stats = self._cloudwatch.get_metric_statistics(
            Namespace="AWS/DynamoDB",
            MetricName="ReplicationLatency",
            Dimensions=[
                {"Name": "TableName", "Value": self.data.names.orders_table},
                {"Name": "ReceivingRegion", "Value": self.secondary},
            ],
            StartTime=datetime.fromtimestamp(end.timestamp() - 900, UTC),
            EndTime=end,
            Period=300,
            Statistics=["Average"],
        )["Datapoints"]
        return max((float(p["Average"]) for p in stats), default=None)
