"""`pulumi preview --policy-pack infra/policy`: blocks a deployment that breaks an invariant."""

from pulumi_policy import PolicyPack

from ame_policies import all_policies

PolicyPack(name="ame-platform-invariants", policies=all_policies())
