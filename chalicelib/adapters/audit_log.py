"""The audit trail as log lines, and read back from where they land.

Written: one compact JSON line per record on stdout, through the `ame.audit` logger, whose only
handler prints the line alone (no JSON wrapper, no mask: the line holds no clear identifier, and a
mask could only damage its hashes). Lambda sends stdout to CloudWatch Logs; a subscription filter
passes the `"kind":"audit"` lines to Firehose, which writes them to the Object-Locked audit bucket
under `audit/`. No request waits for S3. Locally the stack copies the lines to `.devstack/audit/`.

Read: `LocalAuditLog` (the local files) and `S3AuditLog` (the bucket, whose objects hold CloudWatch
Logs subscription envelopes, gzipped or not, one or several per object, or plain JSON lines).
"""

from __future__ import annotations

import gzip
import json
import logging
import sys
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.audit.errors import UnreadableAuditRecord
from chalicelib.audit.model import AuditRecord
from chalicelib.audit.ports import AuditLog, AuditTrail
from chalicelib.audit.wire import is_audit_wire, record_from_wire, record_to_line

AUDIT_LOGGER = "ame.audit"
AUDIT_PREFIX = "audit/"
DELIVERY_MARGIN = timedelta(hours=1)
"""An object is written after the records it holds; this much earlier still counts, for clock skew."""
_GZIP_MAGIC = b"\x1f\x8b"
AUDIT_MARK = '"kind":"audit"'
"""How an audit line starts (`record_to_line`); also what the log subscription's filter can match."""


class _LineToStdout(logging.Handler):
    """The message alone, to whatever `sys.stdout` is at that moment (Lambda's, chalice local's, a test's)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(record.getMessage() + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)  # reported on stderr; the answer was already given


def audit_logger() -> logging.Logger:
    """`ame.audit`, printing raw lines; kept apart from the root logger (its JSON formatter and mask)
    and from any level set for the rest of the app. Idempotent."""
    logger = logging.getLogger(AUDIT_LOGGER)
    if not any(isinstance(h, _LineToStdout) for h in logger.handlers):
        logger.addHandler(_LineToStdout())
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


class StdoutAuditTrail(AuditTrail):
    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or audit_logger()

    def record(self, record: AuditRecord) -> None:
        self._logger.info("%s", record_to_line(record))


class LocalAuditLog(AuditLog):
    """`*.jsonl` files in a directory (the local stack's `.devstack/audit/`); a missing one holds nothing."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.unreadable = 0

    def records_for(self, subject: str, since: datetime | None, until: datetime | None) -> Iterator[AuditRecord]:
        for path in sorted(self.directory.glob("*.jsonl")):
            with path.open(encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    record = self._read(line)
                    if record is not None and record.concerns(subject, since, until):
                        yield record

    def _read(self, line: str) -> AuditRecord | None:
        if not line.strip():
            return None
        try:
            return record_from_wire(json.loads(line))
        except (ValueError, RecursionError):  # UnreadableAuditRecord is a ValueError
            self.unreadable += 1
            return None


class S3AuditLog(AuditLog):
    """The objects under `prefix` in the audit bucket, as Firehose delivered them."""

    def __init__(self, s3: Any, bucket: str, prefix: str = AUDIT_PREFIX) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix
        self.unreadable = 0

    def records_for(self, subject: str, since: datetime | None, until: datetime | None) -> Iterator[AuditRecord]:
        for key in self._keys(since):
            data = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            for raw in self._entries(data):
                try:
                    record = record_from_wire(raw)
                except UnreadableAuditRecord:
                    self.unreadable += 1
                    continue
                if record.concerns(subject, since, until):
                    yield record

    def _keys(self, since: datetime | None) -> Iterator[str]:
        """Every object under the prefix, but those delivered before `since` (they hold only older records)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                if since is None or item["LastModified"] >= since - DELIVERY_MARGIN:
                    yield item["Key"]

    def _entries(self, data: bytes) -> Iterator[Any]:
        """Each audit entry an object holds: the messages of CloudWatch Logs envelopes, or plain lines.
        Whatever else the stream carried (other log lines, control messages) is not ours to count."""
        for value in self._json_values(self._gunzipped(data).decode("utf-8", errors="replace")):
            if isinstance(value, dict) and value.get("messageType") == "DATA_MESSAGE":
                yield from self._messages(value.get("logEvents"))
            elif is_audit_wire(value):
                yield value

    def _messages(self, events: Any) -> Iterator[Any]:
        for event in events if isinstance(events, list) else []:
            message = event.get("message") if isinstance(event, dict) else None
            if not isinstance(message, str):
                continue
            value = _json_object_in(message)
            if is_audit_wire(value):
                yield value
            elif AUDIT_MARK in message:
                self.unreadable += 1

    def _json_values(self, text: str) -> Iterator[Any]:
        """Concatenated JSON values (`{...}{...}`, as Firehose joins envelopes) or one per line; text that
        is not JSON is skipped up to the next line."""
        decoder = json.JSONDecoder()
        position = 0
        while True:
            while position < len(text) and text[position].isspace():
                position += 1
            if position >= len(text):
                return
            try:
                value, position = decoder.raw_decode(text, position)
            except (ValueError, RecursionError):
                self.unreadable += 1
                newline = text.find("\n", position)
                if newline < 0:
                    return
                position = newline + 1
                continue
            yield value

    def _gunzipped(self, data: bytes) -> bytes:
        """Gzip members (CloudWatch Logs compresses each envelope; Firehose may join several) or plain bytes."""
        if not data.startswith(_GZIP_MAGIC):
            return data
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            self.unreadable += 1
            return b""


def _json_object_in(message: str) -> Any:
    """The JSON object a log message holds, after any prefix a runtime may have put before it."""
    start = message.find("{")
    if start < 0:
        return None
    try:
        return json.JSONDecoder().raw_decode(message, start)[0]
    except (ValueError, RecursionError):
        return None
