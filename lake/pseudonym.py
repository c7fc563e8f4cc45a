"""CPF/CNPJ pseudonyms: a keyed HMAC-SHA256 of the digits, hex.

The key is derived from the application secret for this one purpose (chalicelib/keys.py), so it says
nothing about the cursor or audit keys; locally the secret is the stack's AME_APP_SECRET, in AWS the job
reads it from SSM (a SecureString under KMS) as the app does. The same person has the same pseudonym
in every table and every run (joins and counts of distinct customers work), and nobody without the
secret can go back from it, nor test a guessed CPF against it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import pyarrow as pa

from chalicelib.documents import Cnpj, Cpf, InvalidDocument
from chalicelib.keys import MIN_SECRET_BYTES, derive_key

PURPOSE = "lake-subject"


def lake_key(secret: bytes) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the application secret must have at least {MIN_SECRET_BYTES} bytes")
    return derive_key(secret, PURPOSE)


def pseudonym(key: bytes, document: str) -> str:
    return hmac.new(key, document.encode(), hashlib.sha256).hexdigest()


def valid_document(document: str) -> bool:
    """A CPF (11 digits) or CNPJ (14) whose check digits match (chalicelib.documents)."""
    kind = Cpf if len(document) == Cpf.LENGTH else Cnpj
    try:
        kind.parse(document)
    except InvalidDocument:
        return False
    return True


def pseudonym_table(key: bytes, documents: Iterable[str | None]) -> pa.Table:
    """(document, hash, valid) for each distinct document: joined by the transform, never written out."""
    distinct = sorted({d for d in documents if d is not None})
    mac = hmac.new(key, digestmod=hashlib.sha256)
    hashes = []
    for document in distinct:
        h = mac.copy()
        h.update(document.encode())
        hashes.append(h.hexdigest())
    return pa.table(
        {
            "document": pa.array(distinct, pa.string()),
            "hash": pa.array(hashes, pa.string()),
            "valid": pa.array([valid_document(d) for d in distinct], pa.bool_()),
        }
    )
