"""The lake's Lambda entry points in AWS (infra/ame_infra/lake.py deploys them from a container image).

The Step Functions run exports both tables, then runs one `transform_file` per export data file (a
Distributed Map), then one `finalize`:

- `transform_file`: downloads its data file, runs `lake.transform.Transform` over it alone into /tmp and
  uploads what it wrote under `s3://<processed>/staging/<run>/<file>/` (the same layout as the local root).
- `finalize`: merges every file's staging output per table and day (`lake.layout.write_partition`: rows
  sorted by key, duplicates by key resolved to the newest export), folds it into what the lake already holds
  for those days (an incremental export carries only the day's changes), replaces each partition's objects,
  writes the run manifest, publishes QuarantineRate (CloudWatch embedded metric format, a log line) and
  sends the run's alerts to the alarm topic.

This is a thin adapter: everything about rows is the lake package's; this module moves files. The pseudonym
key is read from SSM (`AME_LAKE_PSEUDONYM_PARAMETER`, a SecureString holding `lake.pseudonym.lake_key` in hex,
derived by the Pulumi program from the app secret), so the workers never hold the application secret.

`python -m lake.aws_job catalog` prints the Glue description of the processed and curated tables that
infra/ame_infra/lake_tables.json holds.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from lake import schema as s

TMP = Path(os.environ.get("AME_LAKE_TMP", "/tmp/lake"))  # noqa: S108 (Lambda's only writable place)
STAGING = "staging"
CATALOGUED_LAYERS = ("processed", "curated", "quarantine", "quality")
"""Every layer but raw: quarantine and quality are the platform team's (the analyst policy reads curated only)."""


# ---- the catalog the infrastructure declares -------------------------------------------------------------------


def catalog() -> dict[str, Any]:
    """The processed, curated and bookkeeping tables as Glue sees them, from `lake.schema` (the one description)."""
    return {
        "generated_by": "python -m lake.aws_job catalog",
        "tables": [
            {
                "name": name,
                "layer": table.layer,
                "location": s.location(name),
                "description": table.description,
                "columns": [list(c) for c in s.glue_columns(name)],
                "partition_keys": [list(k) for k in s.partition_keys(name)],
            }
            for name, table in sorted(s.TABLES.items())
            if table.layer in CATALOGUED_LAYERS
        ],
    }


# ---- AWS clients (boto3 is in the image; imported late so `catalog` needs none) ------------------------------


@cache
def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)


@cache
def pseudonym_key(parameter: str) -> bytes:
    """The HMAC key itself (hex in SSM), cached for the life of the Lambda process."""
    value = _client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    return bytes.fromhex(value)


def _env(name: str, env: Mapping[str, str] = os.environ) -> str:
    value = env.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set (infra/ame_infra/lake.py sets it)")
    return value


def _download(bucket: str, key: str, to: Path) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    _client("s3").download_file(bucket, key, str(to))
    return to


def _upload_tree(root: Path, bucket: str, prefix: str, skip: str | None = None) -> list[str]:
    keys = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if skip is not None and path.relative_to(root).parts[0] == skip:
            continue
        key = f"{prefix}/{path.relative_to(root).as_posix()}"
        _client("s3").upload_file(str(path), bucket, key)
        keys.append(key)
    return keys


def _list(bucket: str, prefix: str) -> Iterator[str]:
    for page in _client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def _delete(bucket: str, keys: Sequence[str]) -> None:
    for start in range(0, len(keys), 1000):
        chunk = [{"Key": k} for k in keys[start : start + 1000]]
        if chunk:
            _client("s3").delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})


# ---- the worker: one export data file ------------------------------------------------------------------------


def transform_file(
    event: Mapping[str, Any], context: object = None, env: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """`{table, bucket, key, exportArn, exportType, exportTime, runId}` from the Distributed Map's ItemSelector."""
    from lake.config import LakeConfig
    from lake.exports import ExportRef
    from lake.transform import ORDERS_TABLE, Transform

    table, key, run_id = str(event["table"]), str(event["key"]), str(event["runId"])
    export_id = str(event["exportArn"]).rsplit("/", 1)[-1]
    work = TMP / "worker"
    shutil.rmtree(work, ignore_errors=True)
    out = work / "out"
    # The file under the run's root as in the bucket (raw/<table>/AWSDynamoDB/...): the manifest names its key.
    export_dir = out / "raw" / table / "AWSDynamoDB" / export_id
    _download(str(event["bucket"]), key, export_dir / "data" / PurePosixPath(key).name)
    ref = ExportRef(table, export_id, export_dir, str(event["exportType"]), _when(event["exportTime"]), None)
    config = LakeConfig.from_env(env, root=out)
    # No bureau enrichment in the workers: decisions without a band stay UNKNOWN (README, Data lake).
    key_bytes = pseudonym_key(_env("AME_LAKE_PSEUDONYM_PARAMETER", env))
    # The image's build argument (infra/lake.Dockerfile): there is no git in a Lambda.
    transform = Transform(config, key_bytes, None, threads=2, version=env.get("AME_LAKE_CODE_VERSION", "image"))
    orders, credit = ([ref], []) if table == ORDERS_TABLE else ([], [ref])
    started = time.monotonic()
    result = transform.run(orders, credit)
    staged = _upload_tree(out, _env("AME_LAKE_PROCESSED_BUCKET", env), staging_prefix(run_id, table, key), skip="raw")
    rows = sum(result.rows.get(t.name, 0) for t in s.PROCESSED)
    print(
        json.dumps(
            {
                "lake": "file",
                "run": run_id,
                "table": table,
                "file": PurePosixPath(key).name,
                "rows": rows,
                "objects": len(staged),
                "seconds": round(time.monotonic() - started, 3),
            }
        )
    )
    return {"rows": rows, "objects": len(staged)}


def _when(value: object) -> datetime:
    """A time as Step Functions hands an SDK timestamp on: ISO 8601 (with `Z`) or seconds since the epoch."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def staging_prefix(run_id: str, table: str, key: str) -> str:
    return f"{STAGING}/{run_id}/{table}/{PurePosixPath(key).name.split('.')[0]}"


# ---- finalize: merge, replace partitions, manifest, metrics, alerts ------------------------------------------


def finalize(event: Mapping[str, Any], context: object = None, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """`{runId, mode, exports: [{table, exportArn, exportType, exportTime, files, rows}, ...]}`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lake.layout import write_partition

    run_id, mode = str(event["runId"]), str(event.get("mode", "INCREMENTAL"))
    processed_bucket = _env("AME_LAKE_PROCESSED_BUCKET", env)
    curated_bucket = _env("AME_LAKE_CURATED_BUCKET", env)
    work = TMP / "finalize"
    shutil.rmtree(work, ignore_errors=True)
    staged_keys = list(_list(processed_bucket, f"{STAGING}/{run_id}/"))
    staged = work / "staged"
    for key in staged_keys:
        _download(processed_bucket, key, staged / key.removeprefix(f"{STAGING}/{run_id}/"))
    merged = work / "merged"
    outputs: list[dict[str, Any]] = []
    quality_rows: list[dict[str, Any]] = []
    for table in (*s.PROCESSED, *s.FACTS, *s.DIMENSIONS, *s.BOOKKEEPING):
        bucket = curated_bucket if table.layer == "curated" else processed_bucket
        parts = _staged_parts(staged, table)
        for day, files in sorted(parts.items()):
            frames = [pq.read_table(f, schema=table.schema) for f in files]
            prefix = f"{table.prefix}/{s.DT}={day}/" if day else f"{table.prefix}/"
            existing = sorted(k for k in _list(bucket, prefix) if k.endswith(".parquet"))
            if (mode != "FULL" or not table.partitioned) and existing and table is not s.QUALITY_METRICS:
                # The day as the lake holds it, then this run's rows: by key, this run's win.
                old = work / "existing" / table.prefix / (day or "all")
                frames.insert(
                    0,
                    pa.concat_tables(
                        pq.read_table(_download(bucket, k, old / PurePosixPath(k).name), schema=table.schema)
                        for k in existing
                    ),
                )
            combined = pa.concat_tables(frames)
            data = _quality_sums(combined) if table is s.QUALITY_METRICS else _newest_by_key(combined, table)
            written = write_partition(merged, table, day, data)
            new_keys = _upload_tree(merged / prefix.rstrip("/"), bucket, prefix.rstrip("/"))
            _delete(bucket, [k for k in existing if k not in new_keys])
            outputs += [
                {"path": f"s3://{bucket}/{prefix}{w.path.name}", "sha256": w.sha256, "bytes": w.bytes, "rows": w.rows}
                for w in written
            ]
            if table is s.QUALITY_METRICS:
                quality_rows += [{**r, "dt": day} for r in data.to_pylist()]
    rates = [r for r in quality_rows if r["metric"] == "quarantine_rate"]
    threshold = float(env.get("AME_LAKE_MAX_QUARANTINE_RATE", "0.01"))
    alerts = [
        f"quality: {r['dataset']} on {r['dt']}: {r['value']:.2%} of rows quarantined (threshold {threshold:.2%})"
        for r in rates
        if r["value"] > threshold
    ]
    # Each worker's own manifest (lake.transform) carries its input's checksum and the policies it saw.
    seen = [json.loads(p.read_text()) for p in sorted(staged.glob("*/*/manifests/*.json"))]
    raw_bucket = env.get("AME_LAKE_RAW_BUCKET", "")
    manifest = {
        "run_id": run_id,
        "code_version": sorted({str(m.get("code_version")) for m in seen}) or [env.get("AME_LAKE_CODE_VERSION", "")],
        "source": list(event.get("exports", [])),
        "days": sorted({o["path"].split(f"{s.DT}=")[1][:10] for o in outputs if f"/{s.DT}=" in o["path"]}),
        "inputs": [{**i, "path": f"s3://{raw_bucket}/{i['path']}"} for m in seen for i in m.get("inputs", [])],
        "outputs": outputs,
        "policy_hashes": [
            json.loads(h)
            for h in sorted({json.dumps(h, sort_keys=True) for m in seen for h in m.get("policy_hashes", [])})
        ],
        "quality": {"alerts": alerts},
    }
    _client("s3").put_object(
        Bucket=processed_bucket,
        Key=f"manifests/run={run_id}.json",
        Body=json.dumps(manifest, indent=2, sort_keys=True).encode(),
    )
    print(emf_line(env.get("AME_LAKE_METRICS_NAMESPACE", "AME/Lake"), max((r["value"] for r in rates), default=0.0)))
    if alerts and env.get("AME_LAKE_ALERT_TOPIC_ARN"):
        _client("sns").publish(
            TopicArn=env["AME_LAKE_ALERT_TOPIC_ARN"],
            Subject=f"ame-platform lake run {run_id}: {len(alerts)} alert(s)"[:100],
            Message="\n".join(alerts),
        )
    _delete(processed_bucket, staged_keys)
    return {"runId": run_id, "outputs": len(outputs), "alerts": alerts}


def _staged_parts(staged: Path, table: s.Table) -> dict[str | None, list[Path]]:
    """Day (None for a dimension) -> every file's Parquet parts of `table`, across the run's staging folders."""
    parts: dict[str | None, list[Path]] = {}
    for file_root in sorted(p for p in staged.glob("*/*") if p.is_dir()):
        base = file_root / table.prefix
        if table.partitioned:
            for folder in sorted(base.glob(f"{s.DT}=*")):
                parts.setdefault(folder.name.removeprefix(f"{s.DT}="), []).extend(sorted(folder.glob("*.parquet")))
        elif base.exists():
            parts.setdefault(None, []).extend(sorted(base.glob("*.parquet")))
    return parts


def _newest_by_key(data: Any, table: s.Table) -> Any:
    """One row per key (the last one seen: newer exports are concatenated after older ones), sorted by key."""
    import pyarrow as pa

    keys = [tuple(row[k] for k in table.key) for row in data.select(list(table.key)).to_pylist()]
    last = {k: i for i, k in enumerate(keys)}
    ordered = sorted(last.items(), key=lambda item: tuple("" if v is None else str(v) for v in item[0]))
    return data.take(pa.array([i for _, i in ordered], pa.int64()))


def _quality_sums(data: Any) -> Any:
    """The files' quality rows as one run's: counts summed, quarantine_rate recomputed, null_rate the worst."""
    import pyarrow as pa

    totals: dict[tuple[Any, ...], float] = {}
    for row in data.to_pylist():
        key = (row["run_id"], row["dataset"], row["metric"], row["rule"], row["column_name"])
        if row["metric"] == "null_rate":
            totals[key] = max(totals.get(key, 0.0), row["value"])
        elif row["metric"] != "quarantine_rate":
            totals[key] = totals.get(key, 0.0) + row["value"]
    for (run, dataset, metric, rule, _), value in list(totals.items()):
        if metric == "rows_read" and rule is None:
            quarantined = totals.get((run, dataset, "rows_quarantined", None, None), 0.0)
            totals[(run, dataset, "quarantine_rate", None, None)] = quarantined / value if value else 0.0
    rows = [
        dict(zip(("run_id", "dataset", "metric", "rule", "column_name"), key, strict=True)) | {"value": value}
        for key, value in sorted(totals.items(), key=lambda item: tuple(str(v) for v in item[0]))
    ]
    return pa.Table.from_pylist(rows, schema=s.QUALITY_METRICS.schema)


def emf_line(namespace: str, quarantine_rate: float) -> str:
    """CloudWatch embedded metric format: Lambda's log line becomes the QuarantineRate datapoint the alarm reads."""
    return json.dumps(
        {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [[]],
                        "Metrics": [{"Name": "QuarantineRate", "Unit": "None"}],
                    }
                ],
            },
            "QuarantineRate": quarantine_rate,
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["catalog"]:
        print("usage: python -m lake.aws_job catalog > infra/ame_infra/lake_tables.json", file=sys.stderr)
        return 2
    print(json.dumps(catalog(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
