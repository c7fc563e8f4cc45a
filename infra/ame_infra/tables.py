"""DynamoDB global tables: written in the primary region, replicated to the DR region.

Owned by the prod stack but spanning both regions, so the DR stack never has to reach the
primary region to serve: its functions use the local replica under the same table name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ame_infra.contract import TableSpec


@dataclass(frozen=True)
class GlobalTablesArgs:
    tables: tuple[TableSpec, ...]
    replica_region: str
    key_arn: pulumi.Input[str]
    replica_key_arn: pulumi.Input[str]


class GlobalTables(pulumi.ComponentResource):
    arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: GlobalTablesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:data:GlobalTables", name, None, opts)
        # `protect` keeps `pulumi destroy` from deleting customer data; deletion protection does the same in AWS.
        child = pulumi.ResourceOptions(parent=self, protect=True)
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
            replicas=[
                aws.dynamodb.TableReplicaArgs(
                    region_name=args.replica_region,
                    kms_key_arn=args.replica_key_arn,
                    point_in_time_recovery=True,
                    deletion_protection_enabled=True,
                    propagate_tags=True,
                )
            ],
            opts=opts,
        )
