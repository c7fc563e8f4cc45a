"""Claim checks: a verdict too large for a DynamoDB item or an SQS message goes to a bucket instead.

A ~232-byte-per-representative verdict passes SQS's 256 KiB at ~1,100 representatives and DynamoDB's
400 KB at ~1,700. Above the limits below (each with a margin for the rest of the item or message) the
parties are stored as one object and the item and the message carry a `ClaimCheck` to it. The object
key is the order key plus the content's SHA-256, so a redelivered decision writes the same object.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

ITEM_INLINE_LIMIT = 300_000
"""Bytes of parties JSON kept in the order item; DynamoDB allows 400 KB for the whole item."""
MESSAGE_INLINE_LIMIT = 200 * 1024
"""Bytes of a result message sent whole; SQS allows 256 KiB with the attributes."""
CONTENT_TYPE = "application/json"


class ClaimCheckError(RuntimeError):
    """An object is missing or differs from its reference (size or SHA-256)."""


@dataclass(frozen=True, slots=True)
class ClaimCheck:
    """Where the parties of a decided order are: `s3://bucket/key`, with the bytes' size and SHA-256."""

    bucket: str
    key: str
    sha256: str
    size: int

    def to_wire(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "sha256": self.sha256, "size": self.size}

    @classmethod
    def of(cls, bucket: str, key: str, body: bytes) -> ClaimCheck:
        return cls(bucket, key, hashlib.sha256(body).hexdigest(), len(body))

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> ClaimCheck:
        return cls(str(raw["bucket"]), str(raw["key"]), str(raw["sha256"]), int(raw["size"]))

    def verify(self, body: bytes) -> bytes:
        """The body if it is the one referenced: a stale or tampered object must not pass as the verdict."""
        if len(body) != self.size or hashlib.sha256(body).hexdigest() != self.sha256:
            raise ClaimCheckError(f"claim-check object {self.key} does not match its reference")
        return body


def encode_parties(parties: list[dict[str, Any]]) -> bytes:
    """The canonical bytes of a verdict's parties: the same verdict always gives the same object."""
    return json.dumps(parties, sort_keys=True, separators=(",", ":")).encode()


def decode_parties(body: bytes) -> list[dict[str, Any]]:
    parties = json.loads(body)
    if not isinstance(parties, list):
        raise ClaimCheckError("claim-check object is not a list of parties")
    return parties


def object_key(order_key: str, body: bytes) -> str:
    """Deterministic: a retry of the same decision overwrites the same key with the same bytes."""
    return f"orders/{order_key}/parties-{hashlib.sha256(body).hexdigest()}.json"


def exceeds(body: dict[str, Any] | list[Any], limit: int) -> bool:
    """Whether the JSON of `body` is over `limit` bytes (as PynamoDB and the SQS adapter serialise it)."""
    return len(json.dumps(body).encode()) > limit
