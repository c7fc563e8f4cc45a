"""S3 buckets in each region, owned by that region's stack; the primary's replicated to the DR
region's within 15 minutes (RTC)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ame_infra import iam, peers
from ame_infra.contract import CLAIM_CHECK_PURPOSE


@dataclass(frozen=True)
class BucketSpec:
    """One purpose; the lifecycle follows how the data is read (claim checks must stay instant)."""

    purpose: str
    infrequent_access_after_days: int
    glacier_after_days: int
    glacier_class: str = "GLACIER"
    noncurrent_versions_kept_days: int = 365
    object_locked: bool = False
    """S3 Object Lock, COMPLIANCE mode, default retention from `RegionalBucketsArgs.object_lock_days`."""
    expiring_prefixes: tuple[tuple[str, int], ...] = ()
    """(prefix, days): objects under the prefix deleted after so many days (Athena's query results)."""


BUCKETS = (
    BucketSpec(CLAIM_CHECK_PURPOSE, 30, 90, glacier_class="GLACIER_IR", noncurrent_versions_kept_days=30),
    BucketSpec("lake-raw", 30, 90),
    BucketSpec("lake-processed", 30, 180),
    # Athena's query results (lake.py, the workgroup) live beside the curated tables and expire.
    BucketSpec("lake-curated", 60, 365, expiring_prefixes=(("athena-results/", 30),)),
    # Glacier Instant Retrieval: a data subject's report (`make audit-report`) reads years back at once.
    BucketSpec("audit", 90, 365, glacier_class="GLACIER_IR", noncurrent_versions_kept_days=3650, object_locked=True),
)
AUDIT = next(spec for spec in BUCKETS if spec.purpose == "audit")
RTC_MINUTES = 15


def bucket_name(prefix: str, purpose: str, region: str) -> str:
    """`<bucketPrefix>-<purpose>-<region>`: prod's replication names the dr stack's buckets by it."""
    return f"{prefix}-{purpose}-{region}"


@dataclass(frozen=True)
class VersionedBucket:
    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    lock: aws.s3.BucketObjectLockConfiguration | None = None

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What replication waits for: versioning, and Object Lock where the bucket has it."""
        return [self.versioning, *([self.lock] if self.lock else [])]


@dataclass(frozen=True)
class RegionalBucketsArgs:
    prefix: str
    region: str
    key_arn: pulumi.Input[str]
    """The region's data key: each bucket's default encryption."""
    object_lock_days: int
    specs: tuple[BucketSpec, ...] = BUCKETS


class RegionalBuckets(pulumi.ComponentResource):
    """One region's buckets, owned by that region's stack: prod's are the sources, dr's the destinations."""

    names: dict[str, pulumi.Output[str]]
    by_purpose: dict[str, VersionedBucket]

    def __init__(self, name: str, args: RegionalBucketsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:data:RegionalBuckets", name, None, opts)
        self.by_purpose = {spec.purpose: self._bucket(spec, args) for spec in args.specs}
        self.names = {purpose: b.bucket.bucket for purpose, b in self.by_purpose.items()}
        self.register_outputs({"names": self.names})

    def _bucket(self, spec: BucketSpec, args: RegionalBucketsArgs) -> VersionedBucket:
        name = bucket_name(args.prefix, spec.purpose, args.region)
        opts = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            name, bucket=name, opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True))
        )
        aws.s3.BucketOwnershipControls(
            name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
        )
        aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        )
        versioning = aws.s3.BucketVersioning(
            name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=opts
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": args.key_arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=opts,
        )
        lock = None
        if spec.object_locked:
            # Works on the existing, versioned bucket too (no replacement). COMPLIANCE: no one, the
            # account root included, shortens the retention or deletes a version before it ends.
            lock = aws.s3.BucketObjectLockConfiguration(
                name,
                bucket=bucket.id,
                object_lock_enabled="Enabled",
                rule={"default_retention": {"mode": "COMPLIANCE", "days": args.object_lock_days}},
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[versioning])),
            )
        expiring: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
            {
                "id": f"expire-{prefix.strip('/')}",
                "status": "Enabled",
                "filter": {"prefix": prefix},
                "expiration": {"days": days},
                "noncurrent_version_expiration": {"noncurrent_days": 1},
            }
            for prefix, days in spec.expiring_prefixes
        ]
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                {
                    "id": "tiering",
                    "status": "Enabled",
                    "filter": {},
                    "transitions": [
                        {"days": spec.infrequent_access_after_days, "storage_class": "STANDARD_IA"},
                        {"days": spec.glacier_after_days, "storage_class": spec.glacier_class},
                    ],
                    "noncurrent_version_expiration": {"noncurrent_days": spec.noncurrent_versions_kept_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                },
                *expiring,
            ],
            opts=opts,
        )
        aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyPlainHttp",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            ),
            opts=opts,
        )
        return VersionedBucket(bucket, versioning, lock)


@dataclass(frozen=True)
class BucketReplicationArgs:
    prefix: str
    sources: RegionalBuckets
    source_key_arn: pulumi.Input[str]
    destination_region: str
    account_id: pulumi.Input[str]
    specs: tuple[BucketSpec, ...] = BUCKETS


class BucketReplication(pulumi.ComponentResource):
    """Prod's buckets replicated to the dr stack's twins, named by `bucket_name` (checked naming).

    S3 refuses a rule whose destination bucket does not exist or is not versioned: the dr stack is
    deployed first (docs/deployment.md, Deploy)."""

    def __init__(self, name: str, args: BucketReplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:data:BucketReplication", name, None, opts)
        role = self._replication_role(name, args)
        for spec in args.specs:
            self._replicate(spec, args.sources.by_purpose[spec.purpose], role, args)
        self.register_outputs({})

    @staticmethod
    def destination_arn(args: BucketReplicationArgs, spec: BucketSpec) -> str:
        return f"arn:aws:s3:::{bucket_name(args.prefix, spec.purpose, args.destination_region)}"

    def _replication_role(self, name: str, args: BucketReplicationArgs) -> aws.iam.Role:
        opts = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-replication", assume_role_policy=iam.assume_role("s3.amazonaws.com"), opts=opts)
        sources = [args.sources.by_purpose[s.purpose].bucket for s in args.specs]
        targets = [self.destination_arn(args, s) for s in args.specs]
        locked = [
            pulumi.Output.concat(args.sources.by_purpose[s.purpose].bucket.arn, "/*")
            for s in args.specs
            if s.object_locked
        ]
        statements = [
            iam.allow(["s3:GetReplicationConfiguration", "s3:ListBucket"], [b.arn for b in sources]),
            iam.allow(
                ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                [pulumi.Output.concat(b.arn, "/*") for b in sources],
            ),
            iam.allow(["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], [f"{t}/*" for t in targets]),
            iam.allow(["kms:Decrypt"], [args.source_key_arn]),
            # The dr stack's data key, known here by its alias only (its key id is the dr stack's).
            iam.allow(
                ["kms:Encrypt", "kms:GenerateDataKey"],
                [peers.keys_in(args.destination_region, args.account_id)],
                {"ForAnyValue:StringEquals": {"kms:ResourceAliases": peers.DATA_KEY_ALIAS}},
            ),
        ]
        if locked:
            # Replicas of locked objects keep their retention; S3 reads it with the role's rights.
            statements.append(iam.allow(["s3:GetObjectLegalHold", "s3:GetObjectRetention"], locked))
        aws.iam.RolePolicy(f"{name}-replication", role=role.id, policy=iam.document(*statements), opts=opts)
        return role

    def _replicate(
        self, spec: BucketSpec, source: VersionedBucket, role: aws.iam.Role, args: BucketReplicationArgs
    ) -> None:
        region = args.destination_region
        aws.s3.BucketReplicationConfig(
            f"{args.prefix}-{spec.purpose}-to-{region}",
            bucket=source.bucket.id,
            role=role.arn,
            rules=[
                {
                    "id": f"{spec.purpose}-to-{region}",
                    "status": "Enabled",
                    "priority": 1,
                    "filter": {},
                    "delete_marker_replication": {"status": "Enabled"},
                    "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                    "destination": {
                        "bucket": self.destination_arn(args, spec),
                        "storage_class": "STANDARD",
                        "encryption_configuration": {
                            "replica_kms_key_id": peers.key_alias_arn(region, args.account_id)
                        },
                        "replication_time": {"status": "Enabled", "time": {"minutes": RTC_MINUTES}},
                        "metrics": {"status": "Enabled", "event_threshold": {"minutes": RTC_MINUTES}},
                    },
                }
            ],
            # S3 refuses a replication configuration until versioning (and, for locked objects, Object
            # Lock) is on at the source; the destination's are the dr stack's, deployed before.
            opts=pulumi.ResourceOptions(parent=self, depends_on=source.ready),
        )
