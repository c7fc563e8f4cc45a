"""How one stack names the other's resources: checked naming, never a StackReference.

Each stack owns its own region (docs/deployment.md, Two stacks, two regions). Where prod must point
at a dr resource (replication destinations, the DR backup vault, the DR data key, the failover
switch alarm) or dr at a prod one (the global tables its replicas join), both sides build the name
from the functions below, so neither reads the other's state, and the dr stack needs nothing from
us-east-1 (nor from a Pulumi backend that might live there) to compute them.
`tests/infra/test_ownership.py` checks every such reference against what the other stack declares.
"""

from __future__ import annotations

import pulumi

DATA_KEY_ALIAS = "alias/ame-data"
"""Each region's data key (tables, buckets, backup vault): one per stack, same alias in both regions."""


def backup_vault_name(region: str) -> str:
    """`ame-platform-backups-<region>`: each stack's vault; prod's plan copies into the dr one."""
    return f"ame-platform-backups-{region}"


def backup_vault_arn(region: str, account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:aws:backup:", region, ":", account_id, ":backup-vault:", backup_vault_name(region))


def key_alias_arn(region: str, account_id: pulumi.Input[str], alias: str = DATA_KEY_ALIAS) -> pulumi.Output[str]:
    """An alias ARN: S3 replication accepts one as the replicas' key, so prod needs no dr key id."""
    return pulumi.Output.concat("arn:aws:kms:", region, ":", account_id, ":", alias)


def keys_in(region: str, account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """Every key of the region: narrow it with `kms:ResourceAliases` (a key's ARN is not known by name)."""
    return pulumi.Output.concat("arn:aws:kms:", region, ":", account_id, ":key/*")
