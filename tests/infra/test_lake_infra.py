"""The data lake in AWS (infra/ame_infra/lake.py): in the primary's stack only, catalogued from lake.schema,
least-privilege, scheduled and alarmed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ame_infra import lake
from ame_infra.mocked import DeclaredResource, Inventory, run_stack
from lake import aws_job
from lake import schema as s
from tests.infra.conftest import policy_document

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
GLUE_TABLE = "aws:glue/catalogTable:CatalogTable"
MACHINE = "aws:sfn/stateMachine:StateMachine"
ROOT = Path(__file__).resolve().parents[2]
RAW = "arn:aws:s3:::example-bank-ame-lake-raw-us-east-1"
PROCESSED = "arn:aws:s3:::example-bank-ame-lake-processed-us-east-1"
CURATED = "arn:aws:s3:::example-bank-ame-lake-curated-us-east-1"
LAKE_TYPES = (
    MACHINE,
    "aws:scheduler/schedule:Schedule",
    "aws:glue/catalogDatabase:CatalogDatabase",
    GLUE_TABLE,
    "aws:athena/workgroup:Workgroup",
    "aws:ecr/repository:Repository",
)


def grants(policy: DeclaredResource) -> list[dict[str, Any]]:
    return policy_document(policy)


def role_statements(stack: Inventory, name: str) -> list[dict[str, Any]]:
    (policy,) = [p for p in stack.of_type(ROLE_POLICY) if p.name == name]
    return grants(policy)


def resources_of(statements: list[dict[str, Any]]) -> set[str]:
    return {r for st in statements for r in st["Resource"]}


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    return {a for st in statements for a in st["Action"]}


# --- where it runs ---------------------------------------------------------------------------------------------


def test_the_lake_runs_in_the_primary_stack_only_in_its_region(prod: Inventory, dr: Inventory) -> None:
    for token in LAKE_TYPES:
        assert prod.of_type(token), token
        assert {r.region for r in prod.of_type(token)} == {"us-east-1"}
        assert not dr.of_type(token), token
    assert prod.exports["lake_state_machine_arn"].value.endswith(":ame-lake-daily-us-east-1")
    assert "lake_state_machine_arn" not in dr.exports


def test_a_dr_lake_when_enabled_takes_no_name_of_the_primarys(prod: Inventory, package_dir: Path) -> None:
    from tests.infra.test_ownership import collisions

    dr_lake = run_stack("dr", package_dir, {"ame-platform:lakeEnabled": "true"})
    assert dr_lake.of_type(MACHINE) and dr_lake.of_type(MACHINE)[0].region == "us-west-2"
    assert collisions(prod, dr_lake) == []


# --- the catalog -----------------------------------------------------------------------------------------------


def test_the_checked_in_catalog_is_lake_schemas() -> None:
    """infra/ame_infra/lake_tables.json is `python -m lake.aws_job catalog`: regenerate it when the schema moves."""
    assert json.loads(lake.CATALOG_FILE.read_text()) == aws_job.catalog()


def test_glue_tables_are_every_table_but_raw_with_lake_schemas_columns(prod: Inventory) -> None:
    tables = {t.inputs["name"]: t.inputs for t in prod.of_type(GLUE_TABLE)}
    expected = {n for n, t in s.TABLES.items() if t.layer in ("processed", "curated", "quarantine", "quality")}
    assert set(tables) == expected
    for name, inputs in tables.items():
        columns = [(c["name"], c["type"]) for c in inputs["storageDescriptor"]["columns"]]
        assert columns == s.glue_columns(name)
        assert [(k["name"], k["type"]) for k in inputs.get("partitionKeys", [])] == s.partition_keys(name)
        bucket = "curated" if s.TABLES[name].layer == "curated" else "processed"
        location = f"s3://example-bank-ame-lake-{bucket}-us-east-1/{s.location(name)}/"
        assert inputs["storageDescriptor"]["location"] == location
        serde = inputs["storageDescriptor"]["serDeInfo"]["serializationLibrary"]
        assert serde == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        assert inputs["databaseName"] == "ame_lake_us_east_1" and inputs["tableType"] == "EXTERNAL_TABLE"


def test_day_partitioned_tables_project_dt_as_a_date_from_the_configured_start(prod: Inventory) -> None:
    for table in prod.of_type(GLUE_TABLE):
        parameters = table.inputs["parameters"]
        if not s.TABLES[table.inputs["name"]].partitioned:
            assert "projection.enabled" not in parameters
            continue
        assert parameters["projection.enabled"] == "true"
        assert parameters["projection.dt.type"] == "date"
        assert parameters["projection.dt.format"] == "yyyy-MM-dd"
        assert parameters["projection.dt.range"] == "2026-01-01,NOW"
        assert parameters["storage.location.template"] == table.inputs["storageDescriptor"]["location"] + "dt=${dt}/"


def test_the_workgroup_enforces_kms_encrypted_results_that_expire(prod: Inventory) -> None:
    (workgroup,) = prod.of_type("aws:athena/workgroup:Workgroup")
    configuration = workgroup.inputs["configuration"]
    assert configuration["enforceWorkgroupConfiguration"] is True
    assert configuration["bytesScannedCutoffPerQuery"] > 0
    result = configuration["resultConfiguration"]
    assert result["outputLocation"] == "s3://example-bank-ame-lake-curated-us-east-1/athena-results/"
    encryption = result["encryptionConfiguration"]
    assert encryption["encryptionOption"] == "SSE_KMS"
    assert encryption["kmsKeyArn"].startswith("arn:aws:kms:us-east-1:")
    lifecycle = prod.named(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "example-bank-ame-lake-curated-us-east-1"
    )
    (expiry,) = [r for r in lifecycle.inputs["rules"] if r["id"] == "expire-athena-results"]
    assert expiry["filter"] == {"prefix": "athena-results/"} and expiry["expiration"] == {"days": 30}


# --- permissions ------------------------------------------------------------------------------------------------


def test_the_analyst_reads_curated_only_never_raw_or_processed(prod: Inventory) -> None:
    (policy,) = [p for p in prod.of_type("aws:iam/policy:Policy") if p.inputs["name"] == "ame-lake-analyst-us-east-1"]
    statements = grants(policy)
    resources = resources_of(statements)
    assert not [r for r in resources if RAW in r or PROCESSED in r]
    assert f"{CURATED}/curated/*" in resources
    glue = {r for st in statements if "glue:GetTable" in st["Action"] for r in st["Resource"]}
    tables = {r.rsplit("/", 1)[-1] for r in glue if ":table/" in r}
    assert tables == {n for n, t in s.TABLES.items() if t.layer == "curated"}
    writes = {r for st in statements if "s3:PutObject" in st["Action"] for r in st["Resource"]}
    assert writes == {f"{CURATED}/athena-results/*"}
    attachment = prod.named("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ame-lake-analyst")
    assert attachment.inputs["policyArn"].endswith("ame-lake-analyst-us-east-1")


def test_lake_grants_name_their_actions_and_resources(prod: Inventory) -> None:
    policies = [p for p in prod.of_type(ROLE_POLICY) if p.name.startswith("ame-lake")]
    policies += [p for p in prod.of_type("aws:iam/policy:Policy") if p.name.startswith("ame-lake")]
    assert len(policies) >= 5  # worker, finalize, the run, the schedule, the analyst
    for policy in policies:
        for statement in grants(policy):
            assert not [a for a in statement["Action"] if "*" in a], policy.name
            assert "*" not in statement["Resource"], policy.name
            assert statement["Effect"] == "Allow"


def test_the_run_exports_both_tables_into_raw_only_and_invokes_only_its_functions(prod: Inventory) -> None:
    statements = role_statements(prod, "ame-lake-run")
    table = "arn:aws:dynamodb:us-east-1:111111111111:table/"
    by_action: dict[str, set[str]] = {}
    for st in statements:
        for action in st["Action"]:
            by_action.setdefault(action, set()).update(st["Resource"])
    assert by_action["dynamodb:ExportTableToPointInTime"] == {table + "ame-orders", table + "ame-credit"}
    assert by_action["dynamodb:DescribeExport"] == {table + "ame-orders/export/*", table + "ame-credit/export/*"}
    assert by_action["s3:PutObject"] == {f"{RAW}/raw/*"}
    assert not {a for a in by_action if a.startswith("dynamodb:") and "Export" not in a}  # reads no item
    invoked = by_action["lambda:InvokeFunction"]
    assert {r.removesuffix(":*").rsplit(":", 1)[-1] for r in invoked} == {
        "ame-lake-worker-us-east-1",
        "ame-lake-finalize-us-east-1",
    }


def test_workers_read_raw_and_the_pseudonym_key_finalize_never_touches_raw(prod: Inventory) -> None:
    worker = role_statements(prod, "ame-lake-worker-us-east-1")
    finalize = role_statements(prod, "ame-lake-finalize-us-east-1")
    parameter = "arn:aws:ssm:us-east-1:111111111111:parameter/ame-platform/us-east-1/lake-pseudonym-key"
    assert {r for st in worker if "s3:GetObject" in st["Action"] for r in st["Resource"]} == {f"{RAW}/raw/*"}
    assert {r for st in worker if "s3:PutObject" in st["Action"] for r in st["Resource"]} == {f"{PROCESSED}/staging/*"}
    assert {r for st in worker if "ssm:GetParameter" in st["Action"] for r in st["Resource"]} == {parameter}
    (decrypt,) = [
        st
        for st in worker
        if st.get("Condition", {}).get("StringEquals", {}).get("kms:EncryptionContext:PARAMETER_ARN")
    ]
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert not [r for r in resources_of(finalize) if RAW in r]
    assert "ssm:GetParameter" not in actions_of(finalize)
    assert {"sns:Publish"} <= actions_of(finalize)


def test_the_pseudonym_key_is_a_securestring_derived_like_the_local_run(prod: Inventory) -> None:
    from ame_infra.mocked import MOCK_APP_SECRET
    from lake.pseudonym import lake_key

    parameter = prod.named("aws:ssm/parameter:Parameter", "ame-lake-pseudonym-key")
    assert parameter.inputs["name"] == "/ame-platform/us-east-1/lake-pseudonym-key"
    assert parameter.inputs["type"] == "SecureString"
    assert parameter.inputs["keyId"].startswith("arn:aws:kms:us-east-1:")
    value = parameter.inputs["value"]  # the engine's secret envelope: Pulumi keeps it encrypted in the state
    assert isinstance(value, dict) and bytes.fromhex(value["value"]) == lake_key(MOCK_APP_SECRET.encode())


# --- the run ----------------------------------------------------------------------------------------------------


def test_a_daily_utc_schedule_starts_an_incremental_run(prod: Inventory) -> None:
    (schedule,) = prod.of_type("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["scheduleExpression"] == "cron(30 3 * * ? *)"
    assert schedule.inputs["scheduleExpressionTimezone"] == "UTC"
    assert schedule.inputs["target"]["arn"] == prod.exports["lake_state_machine_arn"].value
    assert json.loads(schedule.inputs["target"]["input"]) == {"mode": "INCREMENTAL"}
    (trust,) = json.loads(prod.named("aws:iam/role:Role", "ame-lake-schedule").inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringLike"]["aws:SourceArn"] == (
        "arn:aws:scheduler:us-east-1:111111111111:schedule/default/ame-lake-daily-us-east-1"
    )
    (run,) = json.loads(prod.named("aws:iam/role:Role", "ame-lake-run").inputs["assumeRolePolicy"])["Statement"]
    assert run["Condition"]["StringLike"]["aws:SourceArn"].endswith(":stateMachine:ame-lake-daily-us-east-1*")
    assert actions_of(role_statements(prod, "ame-lake-schedule")) == {"states:StartExecution"}


def test_the_state_machine_exports_then_maps_over_data_files_then_finalizes(prod: Inventory) -> None:
    (machine,) = prod.of_type(MACHINE)
    definition = json.loads(machine.inputs["definition"])
    assert definition["QueryLanguage"] == "JSONata" and definition["TimeoutSeconds"] == 4 * 60 * 60
    parallel = definition["States"]["ExportAndTransform"]
    assert parallel["Next"] == "Finalize"
    for branch, table in zip(parallel["Branches"], ("ame-orders", "ame-credit"), strict=True):
        states = branch["States"]
        assert states["ExportFull"]["Arguments"]["ExportType"] == "FULL_EXPORT"
        incremental = states["ExportIncremental"]["Arguments"]
        assert incremental["ExportType"] == "INCREMENTAL_EXPORT"
        assert incremental["TableArn"].endswith(f":table/{table}")
        assert incremental["S3Prefix"] == f"raw/{table}"
        assert incremental["S3SseKmsKeyId"].startswith("arn:aws:kms:us-east-1:")
        mapped = states["TransformFiles"]
        assert mapped["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
        assert mapped["ItemReader"]["Resource"] == "arn:aws:states:::s3:listObjectsV2"
        assert mapped["ItemReader"]["Arguments"]["Bucket"] == "example-bank-ame-lake-raw-us-east-1"
        assert mapped["MaxConcurrency"] == 20
        worker = mapped["ItemProcessor"]["States"]["TransformFile"]["Arguments"]["FunctionName"]
        assert worker.endswith(":ame-lake-worker-us-east-1")
    assert definition["States"]["Finalize"]["Arguments"]["FunctionName"].endswith(":ame-lake-finalize-us-east-1")


def test_lake_functions_run_the_lake_image_with_its_entry_points(prod: Inventory) -> None:
    functions = {
        f.inputs["name"]: f.inputs for f in prod.of_type("aws:lambda/function:Function") if "handler" not in f.inputs
    }
    assert set(functions) == {"ame-lake-worker-us-east-1", "ame-lake-finalize-us-east-1"}
    for inputs in functions.values():
        assert inputs["packageType"] == "Image"
        assert inputs["imageUri"] == "111111111111.dkr.ecr.us-east-1.amazonaws.com/ame-lake-us-east-1:lake-0.1.0"
        (command,) = inputs["imageConfig"]["commands"]
        module, function = command.rsplit(".", 1)
        assert module == "lake.aws_job" and callable(getattr(aws_job, function))
        assert inputs["environment"]["variables"]["AME_LAKE_PSEUDONYM_PARAMETER"].endswith("/lake-pseudonym-key")
    (repository,) = prod.of_type("aws:ecr/repository:Repository")
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS"


# --- alarms -----------------------------------------------------------------------------------------------------


def test_the_run_alarms_on_failure_timeout_duration_quarantine_and_absence_with_severity(prod: Inventory) -> None:
    lake_alarms = {
        a.inputs["name"]: a.inputs for a in prod.of_type(ALARM) if a.inputs.get("name", "").startswith("ame-lake")
    }
    by_metric = {(a["namespace"], a["metricName"]): a for a in lake_alarms.values()}
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionTime", "ExecutionsSucceeded"):
        alarm = by_metric[("AWS/States", metric)]
        assert alarm["dimensions"] == {"StateMachineArn": prod.exports["lake_state_machine_arn"].value}
    assert by_metric[("AWS/States", "ExecutionTime")]["threshold"] == 60 * 60_000
    assert by_metric[("AME/Lake", "QuarantineRate")]["threshold"] == 0.01
    assert by_metric[("AWS/States", "ExecutionsSucceeded")]["treatMissingData"] == "breaching"
    topic = prod.exports["alert_topic_arn"].value
    for name, alarm in lake_alarms.items():  # severity and runbook section: tests/infra/test_alarms.py, for every alarm
        assert re.match(r"^P[34] · runbook: docs/runbooks\.md#lake-[a-z-]+ · ", alarm["alarmDescription"]), name
        assert alarm["alarmActions"] == [topic]
    assert by_metric[("AWS/States", "ExecutionsFailed")]["alarmDescription"].startswith("P3 ")


@pytest.mark.parametrize(
    ("key", "value"),
    [("lakeSchedule", "rate(1 day)"), ("lakeProjectionStart", "01/01/2026"), ("lakeMaxQuarantineRate", "2")],
)
def test_malformed_lake_settings_are_refused(key: str, value: str) -> None:
    class Config:
        def get(self, name: str) -> str | None:
            return value if name == key else None

        def get_bool(self, name: str) -> bool | None:
            return None

        def get_int(self, name: str) -> int | None:
            return None

        def get_float(self, name: str) -> float | None:
            return float(value) if name == key else None

    with pytest.raises(lake.LakeConfigError):
        lake.LakeSettings.from_config(Config(), is_primary=True)  # type: ignore[arg-type]
