"""What one stack is: its role, its region and its peer, read once from `Pulumi.<stack>.yaml`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pulumi

from ame_infra.contract import PARTNERS

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES = ("primary", "dr")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


class StackConfigError(ValueError):
    """A stack setting is missing or contradicts another."""


@dataclass(frozen=True)
class StackSettings:
    """Everything the program reads from config; components receive slices of it, never `pulumi.Config`."""

    stack: str
    role: str
    region: str
    peer_region: str
    api_domain: str
    hosted_zone_id: str
    certificate_arn: str
    bucket_prefix: str
    partner_urls: dict[str, str]
    chalice_package_dir: Path
    alert_email: str | None = None
    alert_https_endpoint: pulumi.Output[str] | None = None
    log_retention_days: int = 90
    audit_log_retention_days: int = 400
    waf_requests_per_5_minutes: int = 2000
    latency_p95_ms: int = 200
    error_rate_threshold: Decimal = Decimal("0.01")
    replication_latency_ms: int = 2000
    max_receive_count: int = 5
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def is_primary(self) -> bool:
        return self.role == "primary"

    @property
    def primary_region(self) -> str:
        return self.region if self.is_primary else self.peer_region

    @property
    def dr_region(self) -> str:
        return self.peer_region if self.is_primary else self.region

    @classmethod
    def from_pulumi(cls) -> StackSettings:
        config = pulumi.Config()
        region = pulumi.Config("aws").require("region")
        base_url = config.require("partnerBaseUrl").rstrip("/")
        overrides = config.get_object("partnerUrls") or {}
        package_dir = Path(config.get("chalicePackageDir") or "build/chalice")
        settings = cls(
            stack=pulumi.get_stack(),
            role=config.require("role"),
            region=region,
            peer_region=config.require("peerRegion"),
            api_domain=config.require("apiDomain"),
            hosted_zone_id=config.require("hostedZoneId"),
            certificate_arn=config.require("certificateArn"),
            bucket_prefix=config.require("bucketPrefix"),
            partner_urls={name: str(overrides.get(name) or f"{base_url}/{name}") for name in PARTNERS},
            chalice_package_dir=package_dir if package_dir.is_absolute() else REPO_ROOT / package_dir,
            alert_email=config.get("alertEmail"),
            alert_https_endpoint=config.get_secret("alertHttpsEndpoint"),
            log_retention_days=config.get_int("logRetentionDays") or 90,
            waf_requests_per_5_minutes=config.get_int("wafRequestsPer5Minutes") or 2000,
            latency_p95_ms=config.get_int("latencyP95Ms") or 200,
            replication_latency_ms=config.get_int("replicationLatencyMs") or 2000,
            tags={"project": "ame-platform", "stack": pulumi.get_stack(), "role": config.require("role")},
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.role not in ROLES:
            raise StackConfigError(f"ame-platform:role must be one of {ROLES}, not {self.role!r}")
        for name, value in (("aws:region", self.region), ("ame-platform:peerRegion", self.peer_region)):
            if not REGION_PATTERN.match(value):
                raise StackConfigError(f"{name} is not an AWS region: {value!r}")
        if self.region == self.peer_region:
            raise StackConfigError("the peer region must differ from the stack's own region")
        if f":acm:{self.region}:" not in self.certificate_arn:
            raise StackConfigError(f"certificateArn must be an ACM certificate in {self.region} (regional API domain)")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{2,30}", self.bucket_prefix):
            raise StackConfigError("bucketPrefix: 3-31 lowercase letters, digits or hyphens")
        for name, url in self.partner_urls.items():
            if not url.startswith("https://"):
                raise StackConfigError(f"partner URL for {name} must use https: {url!r}")
