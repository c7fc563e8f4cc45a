"""The DynamoDB export format (ExportTableToPointInTime, DYNAMODB_JSON), written and found on disk.

An export of table T lands under `<prefix>/AWSDynamoDB/<export-id>/`:

    manifest-summary.json   exportArn, exportTime, exportType (FULL_EXPORT | INCREMENTAL_EXPORT), itemCount, ...
    manifest-files.json     one JSON line per data file: dataFileS3Key, itemCount, md5Checksum
    data/<name>.json.gz     gzip, one JSON line per item: {"Item": {...}} (full) or
                            {"Metadata": ..., "Keys": ..., "NewImage": {...}} (incremental)

The local extractor writes exactly this; the transform reads any export in it (moto's, which has
no manifests and names files `*.gz`, too).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FULL = "FULL_EXPORT"
INCREMENTAL = "INCREMENTAL_EXPORT"
ITEMS_PER_FILE = 200_000


@dataclass(frozen=True, slots=True)
class ExportRef:
    """One export of one table: where its files are and when it was taken."""

    table: str
    export_id: str
    path: Path
    """The export's folder (`.../AWSDynamoDB/<export-id>`)."""
    export_type: str
    export_time: datetime
    item_count: int | None
    bucket: str | None = None
    """Set for an export in S3: `path` is then its key prefix in that bucket."""

    def data_files(self) -> list[Path]:
        return sorted((self.path / "data").glob("*.gz"))


def new_export_id(at: datetime) -> str:
    """Shaped like AWS's: milliseconds since the epoch, a dash, 8 hex characters."""
    return f"{int(at.timestamp() * 1000):014d}-{secrets.token_hex(4)}"


def write_export(
    prefix: Path,
    table: str,
    items: Iterable[dict[str, Any]],
    *,
    at: datetime,
    export_id: str | None = None,
    export_type: str = FULL,
    items_per_file: int = ITEMS_PER_FILE,
) -> ExportRef:
    """Writes `items` (DynamoDB JSON, as a low-level scan returns them) as one export under `prefix`."""
    export_id = export_id or new_export_id(at)
    root = prefix / "AWSDynamoDB" / export_id
    (root / "data").mkdir(parents=True, exist_ok=False)
    files: list[dict[str, Any]] = []
    total = 0
    for number, chunk in enumerate(_chunks(items, items_per_file)):
        name = f"data/{hashlib.sha256(f'{export_id}/{number}'.encode()).hexdigest()[:26]}.json.gz"
        body = "".join(json.dumps(_line(item, export_type, at), separators=(",", ":")) + "\n" for item in chunk)
        content = gzip.compress(body.encode(), mtime=0)
        (root / name).write_bytes(content)
        key = f"{_relative(prefix)}/AWSDynamoDB/{export_id}/{name}"
        files.append({"itemCount": len(chunk), "md5Checksum": _md5(content), "dataFileS3Key": key})
        total += len(chunk)
    (root / "manifest-files.json").write_text("".join(json.dumps(f) + "\n" for f in files))
    summary = {
        "version": "2020-06-30",
        "exportArn": f"arn:aws:dynamodb:local:000000000000:table/{table}/export/{export_id}",
        "startTime": at.isoformat(),
        "endTime": at.isoformat(),
        "tableArn": f"arn:aws:dynamodb:local:000000000000:table/{table}",
        "tableId": table,
        "exportTime": at.isoformat(),
        "s3Prefix": _relative(prefix),
        "manifestFilesS3Key": f"{_relative(prefix)}/AWSDynamoDB/{export_id}/manifest-files.json",
        "billedSizeBytes": 0,
        "itemCount": total,
        "outputFormat": "DYNAMODB_JSON",
        "exportType": export_type,
    }
    (root / "manifest-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return ExportRef(table, export_id, root, export_type, at, total)


def read_export(path: Path, table: str) -> ExportRef:
    summary_file = path / "manifest-summary.json"
    if summary_file.exists():
        summary = json.loads(summary_file.read_text())
        at = datetime.fromisoformat(summary["exportTime"])
        return ExportRef(table, path.name, path, summary.get("exportType", FULL), at, summary.get("itemCount"))
    # moto writes the data file only: the export time is the folder's, the type a full export.
    at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return ExportRef(table, path.name, path, FULL, at, None)


def find_exports(prefix: Path, table: str) -> list[ExportRef]:
    """Every export under `prefix`, oldest first."""
    folders = sorted(p for p in (prefix / "AWSDynamoDB").glob("*") if p.is_dir())
    return sorted((read_export(p, table) for p in folders), key=lambda e: (e.export_time, e.export_id))


def current_exports(prefix: Path, table: str) -> list[ExportRef]:
    """What reconstructs the table now: the newest full export and the incremental ones taken after it."""
    exports = find_exports(prefix, table)
    fulls = [i for i, e in enumerate(exports) if e.export_type == FULL]
    if not fulls:
        return []
    return exports[fulls[-1] :]


def _line(item: dict[str, Any], export_type: str, at: datetime) -> dict[str, Any]:
    if export_type == FULL:
        return {"Item": item}
    micros = int(at.timestamp() * 1_000_000)
    return {"Metadata": {"WriteTimestampMicros": {"N": str(micros)}}, "Keys": {}, "NewImage": item}


def _chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _md5(content: bytes) -> str:
    return base64.b64encode(hashlib.md5(content, usedforsecurity=False).digest()).decode()


def _relative(prefix: Path) -> str:
    parts = prefix.parts
    return "/".join(parts[parts.index("raw") :]) if "raw" in parts else prefix.name
