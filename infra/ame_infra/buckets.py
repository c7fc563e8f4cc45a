"""S3 buckets in both regions, the primary's replicated to the DR region within 15 minutes (RTC)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ame_infra import iam


@dataclass(frozen=True)
class BucketSpec:
    """One purpose; the lifecycle follows how the data is read (claim checks must stay instant)."""

    purpose: str
    infrequent_access_after_days: int
    glacier_after_days: int
    glacier_class: str = "GLACIER"
    noncurrent_versions_kept_days: int = 365
    object_locked: bool = False
    """S3 Object Lock, COMPLIANCE mode, default retention from `ReplicatedBucketsArgs.object_lock_days`."""


BUCKETS = (
    BucketSpec("claim-check", 30, 90, glacier_class="GLACIER_IR", noncurrent_versions_kept_days=30),
    BucketSpec("lake-raw", 30, 90),
    BucketSpec("lake-processed", 30, 180),
    BucketSpec("lake-curated", 60, 365),
    # Glacier Instant Retrieval: a data subject's report (`make audit-report`) reads years back at once.
    BucketSpec("audit", 90, 365, glacier_class="GLACIER_IR", noncurrent_versions_kept_days=3650, object_locked=True),
)
AUDIT = next(spec for spec in BUCKETS if spec.purpose == "audit")
RTC_MINUTES = 15


def bucket_name(prefix: str, purpose: str, region: str) -> str:
    """`<bucketPrefix>-<purpose>-<region>`: the DR stack finds the buckets prod keeps in its region by name."""
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
class RegionalSide:
    region: str
    key_arn: pulumi.Input[str]
    provider: aws.Provider


@dataclass(frozen=True)
class ReplicatedBucketsArgs:
    prefix: str
    primary: RegionalSide
    dr: RegionalSide
    object_lock_days: int
    specs: tuple[BucketSpec, ...] = BUCKETS


class ReplicatedBuckets(pulumi.ComponentResource):
    names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ReplicatedBucketsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:data:ReplicatedBuckets", name, None, opts)
        pairs = {
            spec.purpose: (self._bucket(spec, args, args.primary), self._bucket(spec, args, args.dr))
            for spec in args.specs
        }
        role = self._replication_role(name, args, pairs)
        for spec in args.specs:
            source, target = pairs[spec.purpose]
            self._replicate(spec, source, target, role, args)
        self.names = {purpose: source.bucket.bucket for purpose, (source, _) in pairs.items()}
        self.register_outputs({"names": self.names})

    def _bucket(self, spec: BucketSpec, args: ReplicatedBucketsArgs, side: RegionalSide) -> VersionedBucket:
        name = bucket_name(args.prefix, spec.purpose, side.region)
        opts = pulumi.ResourceOptions(parent=self, provider=side.provider)
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
                        "kms_master_key_id": side.key_arn,
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
                }
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

    def _replication_role(
        self, name: str, args: ReplicatedBucketsArgs, pairs: dict[str, tuple[VersionedBucket, VersionedBucket]]
    ) -> aws.iam.Role:
        opts = pulumi.ResourceOptions(parent=self, provider=args.primary.provider)
        role = aws.iam.Role(f"{name}-replication", assume_role_policy=iam.assume_role("s3.amazonaws.com"), opts=opts)
        sources = [source.bucket for source, _ in pairs.values()]
        targets = [target.bucket for _, target in pairs.values()]
        locked = [pulumi.Output.concat(pairs[s.purpose][0].bucket.arn, "/*") for s in args.specs if s.object_locked]
        statements = [
            iam.allow(["s3:GetReplicationConfiguration", "s3:ListBucket"], [b.arn for b in sources]),
            iam.allow(
                ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                [pulumi.Output.concat(b.arn, "/*") for b in sources],
            ),
            iam.allow(
                ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                [pulumi.Output.concat(b.arn, "/*") for b in targets],
            ),
            iam.allow(["kms:Decrypt"], [args.primary.key_arn]),
            iam.allow(["kms:Encrypt", "kms:GenerateDataKey"], [args.dr.key_arn]),
        ]
        if locked:
            # Replicas of locked objects keep their retention; S3 reads it with the role's rights.
            statements.append(iam.allow(["s3:GetObjectLegalHold", "s3:GetObjectRetention"], locked))
        aws.iam.RolePolicy(
            f"{name}-replication",
            role=role.id,
            policy=iam.document(*statements),
            opts=opts,
        )
        return role

    def _replicate(
        self,
        spec: BucketSpec,
        source: VersionedBucket,
        target: VersionedBucket,
        role: aws.iam.Role,
        args: ReplicatedBucketsArgs,
    ) -> None:
        aws.s3.BucketReplicationConfig(
            f"{args.prefix}-{spec.purpose}-to-{args.dr.region}",
            bucket=source.bucket.id,
            role=role.arn,
            rules=[
                {
                    "id": f"{spec.purpose}-to-{args.dr.region}",
                    "status": "Enabled",
                    "priority": 1,
                    "filter": {},
                    "delete_marker_replication": {"status": "Enabled"},
                    "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                    "destination": {
                        "bucket": target.bucket.arn,
                        "storage_class": "STANDARD",
                        "encryption_configuration": {"replica_kms_key_id": args.dr.key_arn},
                        "replication_time": {"status": "Enabled", "time": {"minutes": RTC_MINUTES}},
                        "metrics": {"status": "Enabled", "event_threshold": {"minutes": RTC_MINUTES}},
                    },
                }
            ],
            # S3 refuses a replication configuration until versioning (and, for locked objects, Object
            # Lock) is on at both ends.
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.primary.provider, depends_on=[*source.ready, *target.ready]
            ),
        )
