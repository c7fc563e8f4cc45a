"""What one stack is: its role, its region and its peer, read once from `Pulumi.<stack>.yaml`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pulumi

from ame_infra.contract import AREA_ID_PATTERN, PARTNERS, SCOPES

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES = ("primary", "dr")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


COGNITO_DOMAIN_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
COGNITO_RESERVED_WORDS = ("aws", "amazon", "cognito")
MIN_APP_SECRET_BYTES = 32
"""`chalicelib.keys.MIN_SECRET_BYTES`: the app refuses a shorter secret at its first request."""


class StackConfigError(ValueError):
    """A stack setting is missing or contradicts another."""


@dataclass(frozen=True)
class AreaClient:
    """One consuming area: its system gets one Cognito app client per region with these scopes."""

    area_id: str
    scopes: tuple[str, ...]


def parse_areas(raw: Any) -> tuple[AreaClient, ...]:
    """`ame-platform:areas`: a list of `{area_id, scopes}`; scopes without the resource-server prefix."""
    if not isinstance(raw, list) or not raw:
        raise StackConfigError("ame-platform:areas must list the consuming areas: [{area_id, scopes}, ...]")
    areas = []
    for entry in raw:
        if not isinstance(entry, dict) or set(entry) != {"area_id", "scopes"}:
            raise StackConfigError(f"ame-platform:areas entries are {{area_id, scopes}}, not {entry!r}")
        area_id, scopes = entry["area_id"], entry["scopes"]
        if not isinstance(area_id, str) or not AREA_ID_PATTERN.fullmatch(area_id):
            raise StackConfigError(f"ame-platform:areas: {area_id!r} is not an area id orders accept")
        if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
            raise StackConfigError(f"ame-platform:areas: {area_id} needs a non-empty list of scopes")
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise StackConfigError(
                f"ame-platform:areas: {area_id} asks for unknown scopes {unknown}; known: {list(SCOPES)}"
            )
        areas.append(AreaClient(area_id, tuple(s for s in SCOPES if s in scopes)))
    ids = [a.area_id for a in areas]
    if len(set(ids)) != len(ids):
        raise StackConfigError("ame-platform:areas names an area twice")
    return tuple(areas)


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
    areas: tuple[AreaClient, ...] = ()
    auth_domain_prefix: str = ""
    """Cognito's hosted domain `<prefix>.auth.<region>.amazoncognito.com` (serves `/oauth2/token`)."""
    peer_token_issuer: str | None = None
    """The peer region's user pool issuer (its stack's `token_issuer` output), trusted too."""
    peer_area_client_ids: Mapping[str, str] = field(default_factory=dict)
    """The peer stack's `area_client_ids` output (area id -> client id), added to the area registry."""
    app_secret: pulumi.Output[str] | None = None
    audit_retention_days: int = 1825
    """S3 Object Lock (COMPLIANCE) on every audit record: nobody, root included, deletes it sooner."""
    table_replicas: bool = True
    """dr only: join the prod tables as their DR replicas. `false` for the very first `pulumi up` of dr,
    before prod has created the tables (docs/deployment.md, Deploy)."""
    backup_vault_lock: str = "governance"
    """`governance` (default) or `compliance`: a compliance lock cannot be removed after 3 days, by anyone."""
    standby_health_check_id: str | None = None
    """prod only: the dr stack's `health_check_id` output, alarmed on in us-east-1 beside the primary's."""
    worker_max_concurrency: int = 10
    """The SQS event source's maximum concurrency: a backlog never takes the API's Lambda concurrency."""
    peer_health_url: str | None = None
    """dr only: prod's `regional_api_url` output + `/v1/health`. The dr sweeper probes it and takes over
    (sets the failover switch) when the primary stops answering; unset, it never does."""

    @property
    def is_primary(self) -> bool:
        return self.role == "primary"

    @property
    def required_app_secret(self) -> pulumi.Output[str]:
        if self.app_secret is None:
            raise StackConfigError(
                "ame-platform:appSecret is required: pulumi config set --secret ame-platform:appSecret"
            )
        return self.app_secret

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
            areas=parse_areas(config.require_object("areas")),
            auth_domain_prefix=config.get("authDomainPrefix") or f"{config.require('bucketPrefix')}-{region}",
            peer_token_issuer=config.get("peerTokenIssuer"),
            peer_area_client_ids=_string_map(config.get_object("peerAreaClientIds") or {}, "peerAreaClientIds"),
            # Read in clear only to check its length; from here on it travels as a secret Output.
            app_secret=pulumi.Output.secret(_checked_app_secret(config.require("appSecret"))),
            audit_retention_days=config.get_int("auditRetentionDays") or 1825,
            table_replicas=config.get_bool("tableReplicas") is not False,
            backup_vault_lock=config.get("backupVaultLock") or "governance",
            standby_health_check_id=config.get("standbyHealthCheckId"),
            worker_max_concurrency=config.get_int("workerMaxConcurrency") or 10,
            peer_health_url=config.get("peerHealthUrl"),
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
        self._validate_identity()
        if not 1 <= self.audit_retention_days <= 3650:
            raise StackConfigError("auditRetentionDays: 1-3650 (the audit bucket keeps old versions 3650 days)")
        if self.backup_vault_lock not in ("governance", "compliance"):
            raise StackConfigError(f"backupVaultLock: governance or compliance, not {self.backup_vault_lock!r}")
        if self.standby_health_check_id is not None and not self.is_primary:
            raise StackConfigError("standbyHealthCheckId is prod's: the dr stack alarms on nothing in us-east-1")
        if self.peer_health_url is not None:
            if self.is_primary:
                raise StackConfigError("peerHealthUrl is dr's: the primary never takes over from its standby")
            if not re.fullmatch(r"https://[^/\s]+/\S*/v1/health", self.peer_health_url):
                raise StackConfigError(
                    "peerHealthUrl must be prod's regional health URL: `regional_api_url` output + /v1/health, "
                    f"not {self.peer_health_url!r}"
                )
        if not 2 <= self.worker_max_concurrency <= 1000:
            raise StackConfigError("workerMaxConcurrency: 2-1000 (Lambda's range for an SQS event source)")

    def _validate_identity(self) -> None:
        prefix = self.auth_domain_prefix
        if not COGNITO_DOMAIN_PATTERN.fullmatch(prefix) or any(word in prefix for word in COGNITO_RESERVED_WORDS):
            raise StackConfigError(
                f"authDomainPrefix {prefix!r}: lowercase letters, digits and hyphens, without aws/amazon/cognito"
            )
        issuer = self.peer_token_issuer
        if issuer is not None and not re.fullmatch(
            rf"https://cognito-idp\.{re.escape(self.peer_region)}\.amazonaws\.com/{re.escape(self.peer_region)}_\w+",
            issuer,
        ):
            raise StackConfigError(
                f"peerTokenIssuer must be the {self.peer_region} user pool's issuer "
                f"(https://cognito-idp.{self.peer_region}.amazonaws.com/<pool id>), not {issuer!r}"
            )
        known = {area.area_id for area in self.areas}
        strangers = sorted(set(self.peer_area_client_ids) - known)
        if strangers:
            raise StackConfigError(f"peerAreaClientIds names areas this stack does not list in areas: {strangers}")
        if self.peer_area_client_ids and issuer is None:
            raise StackConfigError("peerAreaClientIds without peerTokenIssuer: their tokens could not be verified")


def _checked_app_secret(secret: str) -> str:
    if len(secret.encode()) < MIN_APP_SECRET_BYTES:
        raise StackConfigError(f"ame-platform:appSecret needs at least {MIN_APP_SECRET_BYTES} bytes")
    return secret


def _string_map(raw: Any, name: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in raw.items()
    ):
        raise StackConfigError(f"ame-platform:{name} must be a JSON object of non-empty strings")
    return dict(raw)
