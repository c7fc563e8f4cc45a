"""Pagination cursors: opaque to clients, signed by us, bound to the query they continue.

A cursor is base64url, unpadded, of `version (1 byte) | payload | tag (16 bytes)`, where the tag is
HMAC-SHA256(key, version | scope | payload) cut to 128 bits. The scope names the query the cursor
continues (the listing and, say, the customer's CPF); it is covered by the tag but never carried,
so a cursor holds no identifier (cursors end up in access logs) and fails for any other query.
Anything that does not verify, whatever is wrong with it, is one error: INVALID_CURSOR.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

from chalicelib.errors import InvalidCursor

VERSION = 1
TAG_BYTES = 16
MAX_CURSOR_CHARS = 256
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class CursorSigner:
    key: bytes

    def seal(self, payload: bytes, scope: str) -> str:
        body = bytes([VERSION]) + payload
        return base64.urlsafe_b64encode(body + self._tag(body, scope)).decode("ascii").rstrip("=")

    def open(self, cursor: str, scope: str) -> bytes:
        """The payload `seal` was given for this scope; InvalidCursor for anything else."""
        raw = _decode(cursor)
        body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
        if len(raw) <= TAG_BYTES or not hmac.compare_digest(tag, self._tag(body, scope)):
            raise invalid_cursor()
        if body[0] != VERSION:  # only reachable once a second version is issued with this key
            raise invalid_cursor()
        return body[1:]

    def _tag(self, body: bytes, scope: str) -> bytes:
        scoped = len(scope.encode()).to_bytes(2, "big") + scope.encode() + body
        return hmac.new(self.key, scoped, hashlib.sha256).digest()[:TAG_BYTES]


def _decode(cursor: str) -> bytes:
    if len(cursor) > MAX_CURSOR_CHARS or not _BASE64URL.fullmatch(cursor):
        raise invalid_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise invalid_cursor() from None
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != cursor:
        raise invalid_cursor()  # a second spelling of the same bytes (unused low bits set) is an edit too
    return raw


def invalid_cursor() -> InvalidCursor:
    return InvalidCursor("cursor is not one this API issued for this listing; start again without it", "cursor")
