"""S3 adapter for the ClaimCheckStore port: one object per large verdict in the region's claim-check bucket."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import OrderedDict
from typing import Any

from chalicelib.orders.claim_check import CONTENT_TYPE, ClaimCheck, ClaimCheckError, object_key
from chalicelib.orders.ports import ClaimCheckStore


class S3ClaimCheckStore(ClaimCheckStore):
    """Objects are encrypted by the bucket's default (SSE-KMS under the region's data key, set by Pulumi);
    naming `aws:kms` here makes a put fail rather than land unencrypted in a bucket configured otherwise."""

    _REMEMBERED = 64

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket
        self._written: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, order_key: str, body: bytes) -> ClaimCheck:
        """Once per object per process: the repository and the publisher both put a verdict too large for
        either, and in a versioned bucket each put of the same bytes would keep another version."""
        ref = ClaimCheck.of(self.bucket, object_key(order_key, body), body)
        with self._lock:
            if ref.key in self._written:
                return ref
        self._client.put_object(
            Bucket=ref.bucket,
            Key=ref.key,
            Body=body,
            ContentType=CONTENT_TYPE,
            ServerSideEncryption="aws:kms",
            ChecksumSHA256=_base64_digest(body),
        )
        with self._lock:
            self._written[ref.key] = None
            while len(self._written) > self._REMEMBERED:
                self._written.popitem(last=False)
        return ref

    def get(self, ref: ClaimCheck) -> bytes:
        """From this region's bucket, whichever region wrote it: S3 replicates prod's objects to dr's bucket
        under the same key (within RTC's 15 minutes), and each function may read its own region's only."""
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=ref.key)
        except self._client.exceptions.NoSuchKey:
            raise ClaimCheckError(f"claim-check object {ref.key} is missing") from None
        body: bytes = response["Body"].read()
        return ref.verify(body)


def _base64_digest(body: bytes) -> str:
    """S3 checks the upload against it, so a corrupted body is refused rather than stored."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()
