"""Route 53 failover for the API name: each stack checks its own region and owns one record.

The prod stack writes the PRIMARY record, the dr stack the SECONDARY. Route 53 answers with the
primary while its health check passes and with the secondary otherwise, so losing the primary
region needs no change in the DR stack, and no access to the primary region.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

HEALTH_PATH = "/api/v1/health"
REQUEST_INTERVAL_SECONDS = 10
FAILURE_THRESHOLD = 3
"""Three failed 10-second checks: detection in about 30 s, inside the 60 s RTO objective."""


@dataclass(frozen=True)
class FailoverArgs:
    role: str
    region: str
    hosted_zone_id: str
    api_domain: str
    invoke_host: pulumi.Input[str]
    regional_domain_name: pulumi.Input[str]
    regional_zone_id: pulumi.Input[str]


class Failover(pulumi.ComponentResource):
    health_check_id: pulumi.Output[str]
    record: aws.route53.Record

    def __init__(self, name: str, args: FailoverArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:dns:Failover", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # The execute-api host, not the custom name: the check must see this region, not whatever DNS answers.
        health_check = aws.route53.HealthCheck(
            name,
            type="HTTPS",
            fqdn=args.invoke_host,
            port=443,
            resource_path=HEALTH_PATH,
            request_interval=REQUEST_INTERVAL_SECONDS,
            failure_threshold=FAILURE_THRESHOLD,
            measure_latency=True,
            tags={"Name": f"ame-platform-{args.region}"},
            opts=child,
        )
        self.record = aws.route53.Record(
            name,
            zone_id=args.hosted_zone_id,
            name=args.api_domain,
            type="A",
            set_identifier=f"{args.role}-{args.region}",
            failover_routing_policies=[{"type": "PRIMARY" if args.role == "primary" else "SECONDARY"}],
            health_check_id=health_check.id,
            aliases=[
                {
                    "name": args.regional_domain_name,
                    "zone_id": args.regional_zone_id,
                    "evaluate_target_health": True,
                }
            ],
            opts=child,
        )
        self.health_check_id = health_check.id
        self.register_outputs({"health_check_id": health_check.id})
