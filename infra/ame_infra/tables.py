"""DynamoDB global tables: the tables in the primary region (prod stack), their replicas in the DR
region (dr stack, `aws.dynamodb.TableReplica`), each under its own region's data key.

The dr stack names the tables its replicas join by ARN (`iam.table_arn`, checked naming); its
functions use the local replica under the same table name. Creating or deleting a replica is a
call to the table's region (DynamoDB adds replicas through `UpdateTable` there), so the dr stack
adds its replicas once prod is up (docs/deployment.md, Deploy), and an update of the dr
stack that leaves the replicas as they are makes no call to the primary region.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ame_infra import iam
from ame_infra.contract import TableSpec


@dataclass(frozen=True)
class GlobalTablesArgs:
    tables: tuple[TableSpec, ...]
    key_arn: pulumi.Input[str]


class GlobalTables(pulumi.ComponentResource):
    arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: GlobalTablesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:data:GlobalTables", name, None, opts)
        # `protect` keeps `pulumi destroy` from deleting customer data; deletion protection does the same in AWS.
        # The replicas are the dr stack's resources: the inline `replicas` block would fight them.
        child = pulumi.ResourceOptions(parent=self, protect=True, ignore_changes=["replicas"])
        self.arns = {spec.key: self._table(spec, args, child).arn for spec in args.tables}
        self.register_outputs({"arns": self.arns})

    @staticmethod
    def _table(spec: TableSpec, args: GlobalTablesArgs, opts: pulumi.ResourceOptions) -> aws.dynamodb.Table:
        return aws.dynamodb.Table(
            spec.name,
            name=spec.name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=spec.hash_key,
            range_key=spec.range_key,
            attributes=[aws.dynamodb.TableAttributeArgs(name=a, type="S") for a in spec.attributes],
            global_secondary_indexes=[
                aws.dynamodb.TableGlobalSecondaryIndexArgs(
                    name=index.name,
                    key_schemas=[
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name=index.hash_key, key_type="HASH"
                        ),
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name=index.range_key, key_type="RANGE"
                        ),
                    ],
                    projection_type=index.projection,
                )
                for index in spec.indexes
            ]
            or None,
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=spec.ttl_attribute, enabled=True)
            if spec.ttl_attribute
            else None,
            # Global tables replicate through the stream; NEW_AND_OLD_IMAGES is what they require.
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=args.key_arn),
            deletion_protection_enabled=True,
            opts=opts,
        )


@dataclass(frozen=True)
class TableReplicasArgs:
    tables: tuple[TableSpec, ...]
    primary_region: str
    account_id: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    """This (DR) region's data key."""


class TableReplicas(pulumi.ComponentResource):
    """The DR region's replica of every global table, owned by the dr stack."""

    arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: TableReplicasArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:data:TableReplicas", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, protect=True)
        self.arns = {
            spec.key: aws.dynamodb.TableReplica(
                f"{spec.name}-replica",
                global_table_arn=iam.table_arn(args.primary_region, args.account_id, spec.name),
                kms_key_arn=args.key_arn,
                point_in_time_recovery=True,
                deletion_protection_enabled=True,
                opts=child,
            ).arn
            for spec in args.tables
        }
        self.register_outputs({"arns": self.arns})
