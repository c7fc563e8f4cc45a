"""Where the lake's files go and how they are written: Parquet, deterministic, one partition at a time, atomically.

A partition (`<layer>/<table>/dt=YYYY-MM-DD/`) is written whole into a temporary sibling folder and
then swapped in by renames, so a reader sees the old day or the new day, never half of one; a re-run of
a day replaces it exactly. Files are byte-identical for identical rows: the rows come sorted by key,
the writer's options are fixed (below) and nothing time-dependent goes into a file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lake.schema import DT, Table

MAX_ROWS_PER_FILE = 4_000_000
"""A day is one file up to this many rows (no tiny files); beyond, part-00001, ... of this size."""
ROW_GROUP_ROWS = 1_000_000
WRITER_OPTIONS: dict[str, object] = {
    "compression": "zstd",
    "compression_level": 1,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "store_schema": True,
}


_DISTINCT = frozenset(
    {"order_key", "decision_id", "requester_hash", "customer_hash", "document_hash", "record", "row_key"}
)
"""String columns with (nearly) one value per row."""


@dataclass(frozen=True, slots=True)
class Written:
    path: Path
    rows: int
    sha256: str
    bytes: int


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_dir(root: Path, table: Table) -> Path:
    return root / table.prefix


def partition_dir(root: Path, table: Table, day: str | None) -> Path:
    return table_dir(root, table) / f"{DT}={day}" if day is not None else table_dir(root, table)


def conform(data: pa.Table, table: Table) -> pa.Table:
    """The rows in the table's exact schema (column order, types, nullability)."""
    data = data.select(table.schema.names)
    columns = [data.column(f.name).cast(f.type) for f in table.schema]
    return pa.Table.from_arrays(columns, schema=table.schema)


def write_partition(root: Path, table: Table, day: str | None, data: pa.Table) -> list[Written]:
    """Replaces the partition with `data` (already sorted); an empty `data` removes the partition."""
    target = partition_dir(root, table, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex}"
    staging.mkdir()
    data = conform(data, table)
    # Dictionary-encode the codes only: hashes, keys and amounts are all distinct, a dictionary only costs there.
    dictionary = [f.name for f in table.schema if pa.types.is_string(f.type) and f.name not in _DISTINCT]
    names = []
    for number, start in enumerate(range(0, data.num_rows, MAX_ROWS_PER_FILE)):
        name = f"part-{number:05d}.parquet"
        pq.write_table(
            data.slice(start, MAX_ROWS_PER_FILE),
            staging / name,
            row_group_size=ROW_GROUP_ROWS,
            use_dictionary=dictionary,
            **WRITER_OPTIONS,
        )
        names.append(name)
    swap_in(staging, target, keep=bool(names))
    return [_written(target / n) for n in names]


def swap_in(staging: Path, target: Path, keep: bool = True) -> None:
    """`staging` becomes `target` (the old one is moved aside first, then deleted): two renames."""
    retired = target.parent / f".old-{target.name}-{uuid.uuid4().hex}"
    if target.exists():
        os.replace(target, retired)
    if keep:
        os.replace(staging, target)
    else:
        shutil.rmtree(staging)
    shutil.rmtree(retired, ignore_errors=True)


def _written(path: Path) -> Written:
    return Written(path, pq.ParquetFile(path).metadata.num_rows, sha256_file(path), path.stat().st_size)


def partitions(root: Path, table: Table) -> list[str]:
    base = table_dir(root, table)
    if not base.exists():
        return []
    return sorted(p.name.removeprefix(f"{DT}=") for p in base.glob(f"{DT}=*") if p.is_dir())
