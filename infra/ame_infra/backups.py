"""AWS Backup: a daily plan kept 7 days and a weekly plan kept 5 weeks, each copied to the DR vault.

Each stack owns its region's vault; the plan is prod's and names the dr vault by `peers.backup_vault_arn`.

Point-in-time recovery covers "undo the last minutes"; these backups cover corruption noticed
days later (seed 004: daily kept 7 days, weekly kept a month) and survive losing the primary region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ame_infra import iam, peers


@dataclass(frozen=True)
class BackupRule:
    name: str
    schedule: str
    keep_days: int


RULES = (
    BackupRule("daily", "cron(0 5 * * ? *)", keep_days=7),
    BackupRule("weekly", "cron(0 6 ? * SUN *)", keep_days=35),
)
MANAGED_POLICIES = (
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
)


VAULT_LOCK_MODES = ("governance", "compliance")
COMPLIANCE_GRACE_DAYS = 3
"""A compliance lock can be removed for this many days; after that nobody, root included, can."""


@dataclass(frozen=True)
class BackupVaultArgs:
    region: str
    key_arn: pulumi.Input[str]
    """The region's data key."""
    lock_mode: str = "governance"
    """`governance`: users with `backup:DeleteBackupVaultLockConfiguration` can still lift it;
    `compliance`: irreversible after `COMPLIANCE_GRACE_DAYS` (stack config `backupVaultLock`)."""
    rules: tuple[BackupRule, ...] = RULES


class BackupVault(pulumi.ComponentResource):
    """One region's vault, owned by that region's stack: prod's takes the backups, dr's receives the copies."""

    name: str

    def __init__(self, name: str, args: BackupVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:data:BackupVault", name, None, opts)
        if args.lock_mode not in VAULT_LOCK_MODES:
            raise ValueError(f"backup vault lock mode must be one of {VAULT_LOCK_MODES}, not {args.lock_mode!r}")
        child = pulumi.ResourceOptions(parent=self)
        # DynamoDB's advanced backup features (cross-region copy, own lifecycle, vault encryption): accounts
        # older than November 2021 must opt in per region, or the copy into the dr vault fails.
        self.region_settings = aws.backup.RegionSettings(
            name,
            resource_type_opt_in_preference={"DynamoDB": True},
            resource_type_management_preference={"DynamoDB": True},
            opts=child,
        )
        self.name = peers.backup_vault_name(args.region)
        vault = aws.backup.Vault(
            name,
            name=self.name,
            kms_key_arn=args.key_arn,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        retention = (min(r.keep_days for r in args.rules), max(r.keep_days for r in args.rules))
        # Without `changeable_for_days` the lock is in governance mode; with it, compliance once that ends.
        self.lock = aws.backup.VaultLockConfiguration(
            name,
            backup_vault_name=vault.name,
            min_retention_days=retention[0],
            max_retention_days=retention[1],
            changeable_for_days=COMPLIANCE_GRACE_DAYS if args.lock_mode == "compliance" else None,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.arn = vault.arn
        self.register_outputs({"name": vault.name, "arn": vault.arn})


@dataclass(frozen=True)
class BackupPlanArgs:
    vault: BackupVault
    resource_arns: Sequence[pulumi.Input[str]]
    copy_to_vault_arn: pulumi.Input[str]
    """The dr stack's vault, by name (`peers.backup_vault_arn`)."""
    rules: tuple[BackupRule, ...] = RULES


class BackupPlan(pulumi.ComponentResource):
    """Prod's plan: backups into its own vault, each copied into the dr stack's."""

    def __init__(self, name: str, args: BackupPlanArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:data:BackupPlan", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-service", assume_role_policy=iam.assume_role("backup.amazonaws.com"), opts=child)
        for index, policy_arn in enumerate(MANAGED_POLICIES):
            aws.iam.RolePolicyAttachment(f"{name}-service-{index}", role=role.name, policy_arn=policy_arn, opts=child)
        plan = aws.backup.Plan(
            name,
            name=name,
            rules=[
                {
                    "rule_name": rule.name,
                    "target_vault_name": args.vault.name,
                    "schedule": rule.schedule,
                    "schedule_expression_timezone": "Etc/UTC",
                    "start_window": 60,
                    "completion_window": 240,
                    "lifecycle": {"delete_after": rule.keep_days},
                    "copy_actions": [
                        {"destination_vault_arn": args.copy_to_vault_arn, "lifecycle": {"delete_after": rule.keep_days}}
                    ],
                }
                for rule in args.rules
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.vault]),
        )
        aws.backup.Selection(
            name, name=name, plan_id=plan.id, iam_role_arn=role.arn, resources=list(args.resource_arns), opts=child
        )
        self.register_outputs({"plan": plan.id})
