"""AWS Backup: a daily plan kept 7 days and a weekly plan kept 5 weeks, each copied to the DR vault.

Point-in-time recovery covers "undo the last minutes"; these backups cover corruption noticed
days later (seed 004: daily kept 7 days, weekly kept a month) and survive losing the primary region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ame_infra import iam


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


@dataclass(frozen=True)
class CrossRegionBackupsArgs:
    resource_arns: Sequence[pulumi.Input[str]]
    primary_key_arn: pulumi.Input[str]
    dr_key_arn: pulumi.Input[str]
    primary_provider: aws.Provider
    dr_provider: aws.Provider
    rules: tuple[BackupRule, ...] = RULES


class CrossRegionBackups(pulumi.ComponentResource):
    def __init__(self, name: str, args: CrossRegionBackupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:data:CrossRegionBackups", name, None, opts)
        primary = pulumi.ResourceOptions(parent=self, provider=args.primary_provider)
        retention = (min(r.keep_days for r in args.rules), max(r.keep_days for r in args.rules))
        vault = self._vault(f"{name}-primary", args.primary_key_arn, retention, primary)
        dr_vault = self._vault(
            f"{name}-dr", args.dr_key_arn, retention, pulumi.ResourceOptions(parent=self, provider=args.dr_provider)
        )
        role = aws.iam.Role(f"{name}-service", assume_role_policy=iam.assume_role("backup.amazonaws.com"), opts=primary)
        for index, policy_arn in enumerate(MANAGED_POLICIES):
            aws.iam.RolePolicyAttachment(f"{name}-service-{index}", role=role.name, policy_arn=policy_arn, opts=primary)
        plan = aws.backup.Plan(
            name,
            name=name,
            rules=[
                {
                    "rule_name": rule.name,
                    "target_vault_name": vault.name,
                    "schedule": rule.schedule,
                    "schedule_expression_timezone": "Etc/UTC",
                    "start_window": 60,
                    "completion_window": 240,
                    "lifecycle": {"delete_after": rule.keep_days},
                    "copy_actions": [
                        {"destination_vault_arn": dr_vault.arn, "lifecycle": {"delete_after": rule.keep_days}}
                    ],
                }
                for rule in args.rules
            ],
            opts=primary,
        )
        aws.backup.Selection(
            name, name=name, plan_id=plan.id, iam_role_arn=role.arn, resources=list(args.resource_arns), opts=primary
        )
        self.vault_name = vault.name
        self.dr_vault_name = dr_vault.name
        self.register_outputs({"vault": vault.name, "dr_vault": dr_vault.name, "plan": plan.id})

    def _vault(
        self, name: str, key_arn: pulumi.Input[str], retention: tuple[int, int], opts: pulumi.ResourceOptions
    ) -> aws.backup.Vault:
        vault = aws.backup.Vault(name, name=name, kms_key_arn=key_arn, opts=opts)
        # Governance for 3 days, then compliance: nobody, root included, deletes a recovery point early.
        aws.backup.VaultLockConfiguration(
            name,
            backup_vault_name=vault.name,
            min_retention_days=retention[0],
            max_retention_days=retention[1],
            changeable_for_days=3,
            opts=opts,
        )
        return vault
