"""lake/aws_job.py, the Lambda entry points the state machine runs, against in-memory S3/SSM/SNS: one worker per
export data file then finalize gives the curated rows one local run over the whole export gives."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ame_infra.lake import derive_pseudonym_key
from lake import aws_job
from lake import schema as s
from lake.config import LakeConfig
from lake.exports import write_export
from lake.pseudonym import lake_key
from lake.traffic import Traffic, TrafficShape
from lake.transform import CREDIT_TABLE, ORDERS_TABLE, Transform

SECRET = "tests-only-lake-secret-0123456789abcdef"
EXPORTED = datetime(2026, 11, 6, 3, tzinfo=UTC)
RAW, PROCESSED, CURATED = "raw-bucket", "processed-bucket", "curated-bucket"
PARAMETER = "/ame-platform/us-east-1/lake-pseudonym-key"


class FakeAws:
    """The calls aws_job makes, on dicts: S3 objects, one SSM parameter, SNS messages."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.published: list[dict[str, Any]] = []

    # s3
    def download_file(self, bucket: str, key: str, filename: str) -> None:
        Path(filename).write_bytes(self.objects[(bucket, key)])

    def upload_file(self, filename: str, bucket: str, key: str) -> None:
        self.objects[(bucket, key)] = Path(filename).read_bytes()

    def put_object(self, Bucket: str, Key: str, Body: bytes) -> None:  # noqa: N803 (boto3's names)
        self.objects[(Bucket, Key)] = Body

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> None:  # noqa: N803
        for item in Delete["Objects"]:
            self.objects.pop((Bucket, item["Key"]), None)

    def get_paginator(self, name: str) -> FakeAws:
        assert name == "list_objects_v2"
        return self

    def paginate(self, Bucket: str, Prefix: str) -> Iterator[dict[str, Any]]:  # noqa: N803
        keys = sorted(k for b, k in self.objects if b == Bucket and k.startswith(Prefix))
        yield {"Contents": [{"Key": k} for k in keys]}

    def keys(self, bucket: str, pattern: str = "*") -> list[str]:
        return sorted(k for b, k in self.objects if b == bucket and fnmatch.fnmatch(k, pattern))

    # ssm, sns
    def get_parameter(self, Name: str, WithDecryption: bool) -> dict[str, Any]:  # noqa: N803
        assert (Name, WithDecryption) == (PARAMETER, True)
        return {"Parameter": {"Value": derive_pseudonym_key(SECRET)}}

    def publish(self, **message: Any) -> None:
        self.published.append(message)


ENV = {
    "AME_LAKE_RAW_BUCKET": RAW,
    "AME_LAKE_PROCESSED_BUCKET": PROCESSED,
    "AME_LAKE_CURATED_BUCKET": CURATED,
    "AME_LAKE_PSEUDONYM_PARAMETER": PARAMETER,
    "AME_LAKE_ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:111111111111:ame-platform-alerts",
    "AME_LAKE_MAX_QUARANTINE_RATE": "0.5",
}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeAws:
    aws = FakeAws()
    monkeypatch.setattr(aws_job, "_client", lambda service: aws)
    monkeypatch.setattr(aws_job, "TMP", tmp_path / "lambda-tmp")
    aws_job.pseudonym_key.cache_clear()
    return aws


def test_the_parameter_holds_the_key_the_local_run_derives() -> None:
    assert bytes.fromhex(derive_pseudonym_key(SECRET)) == lake_key(SECRET.encode())


def test_workers_per_file_then_finalize_give_the_local_runs_curated_rows(fake: FakeAws, tmp_path: Path) -> None:
    # GIVEN a FULL export of each table, split into several data files, in the raw bucket
    traffic = Traffic(TrafficShape(date(2026, 11, 2), days=3, orders_per_day=30, decisions_per_day=60, customers=150))
    local = tmp_path / "local"
    refs = {
        ORDERS_TABLE: write_export(
            local / "raw" / ORDERS_TABLE, ORDERS_TABLE, traffic.orders(), at=EXPORTED, items_per_file=40
        ),
        CREDIT_TABLE: write_export(
            local / "raw" / CREDIT_TABLE, CREDIT_TABLE, traffic.decisions(), at=EXPORTED, items_per_file=70
        ),
    }
    events = []
    for name, ref in refs.items():
        for data_file in ref.data_files():
            key = f"raw/{name}/AWSDynamoDB/{ref.export_id}/data/{data_file.name}"
            fake.objects[(RAW, key)] = data_file.read_bytes()
            events.append(
                {
                    "table": name,
                    "bucket": RAW,
                    "key": key,
                    "runId": "run-1",
                    "exportType": "FULL_EXPORT",
                    "exportArn": f"arn:aws:dynamodb:us-east-1:1:table/{name}/export/{ref.export_id}",
                    "exportTime": EXPORTED.isoformat(),
                }
            )
    assert len(events) >= 5
    # WHEN the Distributed Map runs a worker per file, then finalize
    rows = [aws_job.transform_file(event, env=ENV)["rows"] for event in events]
    outcome = aws_job.finalize({"runId": "run-1", "mode": "FULL", "exports": []}, env=ENV)
    # THEN the curated and processed tables hold what one local run over the whole export writes
    expected = Transform(LakeConfig(root=local), lake_key(SECRET.encode()), version="test").run(
        [refs[ORDERS_TABLE]], [refs[CREDIT_TABLE]]
    )
    assert sum(rows) > 0 and not outcome["alerts"]
    for table in (s.FACT_CREDIT_DECISION, s.FACT_ENVELOPE_ORDER, s.PROCESSED_ORDERS, s.DIM_AREA, s.DIM_RISK_BAND):
        bucket = CURATED if table.layer == "curated" else PROCESSED
        deployed = _canonical(_rows(fake, bucket, table, tmp_path / "read"))
        assert deployed == _canonical(_local_rows(local, table)), table.name
    assert expected.rows.get("fact_credit_decision") == len(
        _rows(fake, CURATED, s.FACT_CREDIT_DECISION, tmp_path / "r")
    )
    # staging is gone, the manifest names every output, the metric line is EMF
    assert not fake.keys(PROCESSED, "staging/*")
    manifest = json.loads(fake.objects[(PROCESSED, "manifests/run=run-1.json")])
    assert set(manifest) == set(s.MANIFEST_FIELDS)
    assert all(o["path"].startswith("s3://") and len(o["sha256"]) == 64 for o in manifest["outputs"])
    assert {i["path"] for i in manifest["inputs"]} == {f"s3://{RAW}/{e['key']}" for e in events}
    assert manifest["policy_hashes"] and all(len(i["sha256"]) == 64 for i in manifest["inputs"])


def test_a_high_quarantine_rate_alerts_the_topic_and_an_incremental_run_keeps_the_days_other_rows(
    fake: FakeAws, tmp_path: Path
) -> None:
    traffic = Traffic(TrafficShape(date(2026, 11, 2), days=1, orders_per_day=20, decisions_per_day=20, customers=50))
    decisions = list(traffic.decisions())
    full = write_export(tmp_path / "raw", CREDIT_TABLE, decisions[:15], at=EXPORTED)
    for ref, run, mode in ((full, "run-full", "FULL_EXPORT"),):
        (data_file,) = ref.data_files()
        key = f"raw/{CREDIT_TABLE}/AWSDynamoDB/{ref.export_id}/data/{data_file.name}"
        fake.objects[(RAW, key)] = data_file.read_bytes()
        aws_job.transform_file(
            {
                "table": CREDIT_TABLE,
                "bucket": RAW,
                "key": key,
                "runId": run,
                "exportType": mode,
                "exportArn": f"x/{ref.export_id}",
                "exportTime": EXPORTED.isoformat(),
            },
            env=ENV,
        )
        aws_job.finalize({"runId": run, "mode": "FULL"}, env=ENV)
    first = len(_rows(fake, CURATED, s.FACT_CREDIT_DECISION, tmp_path / "a"))
    # an incremental export of the other five decisions of the same day, one of them corrupted
    broken = [dict(d) for d in decisions[15:]]
    broken[0] = {**broken[0], "data": {"S": "{not json"}}
    delta = write_export(
        tmp_path / "raw", CREDIT_TABLE, broken, at=EXPORTED.replace(hour=4), export_type="INCREMENTAL_EXPORT"
    )
    (data_file,) = delta.data_files()
    key = f"raw/{CREDIT_TABLE}/AWSDynamoDB/{delta.export_id}/data/{data_file.name}"
    fake.objects[(RAW, key)] = data_file.read_bytes()
    aws_job.transform_file(
        {
            "table": CREDIT_TABLE,
            "bucket": RAW,
            "key": key,
            "runId": "run-delta",
            "exportType": "INCREMENTAL_EXPORT",
            "exportArn": f"x/{delta.export_id}",
            "exportTime": EXPORTED.replace(hour=4).isoformat(),
        },
        env={**ENV, "AME_LAKE_MAX_QUARANTINE_RATE": "0.1"},
    )
    outcome = aws_job.finalize(
        {"runId": "run-delta", "mode": "INCREMENTAL"}, env={**ENV, "AME_LAKE_MAX_QUARANTINE_RATE": "0.1"}
    )
    # THEN the day holds the first run's rows and the delta's good ones; the corrupted row is quarantined
    assert len(_rows(fake, CURATED, s.FACT_CREDIT_DECISION, tmp_path / "b")) == first + 4
    assert outcome["alerts"] and "credit_decisions" in outcome["alerts"][0]
    (message,) = fake.published
    assert message["TopicArn"] == ENV["AME_LAKE_ALERT_TOPIC_ARN"] and "quarantined" in message["Message"]


def test_the_quarantine_metric_is_an_embedded_metric_format_line() -> None:
    line = json.loads(aws_job.emf_line("AME/Lake", 0.25))
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "AME/Lake" and directive["Metrics"][0]["Name"] == "QuarantineRate"
    assert line["QuarantineRate"] == 0.25


def _rows(fake: FakeAws, bucket: str, table: s.Table, into: Path) -> list[dict[str, Any]]:
    rows = []
    for key in fake.keys(bucket, f"{table.prefix}/*.parquet"):
        path = into / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(fake.objects[(bucket, key)])
        rows += pq.read_table(path).to_pylist()
    return rows


def _local_rows(root: Path, table: s.Table) -> list[dict[str, Any]]:
    return [r for f in sorted((root / table.prefix).rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def _canonical(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)
