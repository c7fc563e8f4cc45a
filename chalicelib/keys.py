"""Keys derived from the one application secret, one per purpose, so a key leaked from one use
(a signed cursor, say) says nothing about another (the audit trail's subject hashes)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

MIN_SECRET_BYTES = 32


def derive_key(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, b"ame-platform/" + purpose.encode(), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class AppKeys:
    cursor: bytes
    """Signs pagination cursors (they must not be forged or edited)."""
    audit_subject: bytes
    """Keys the hash of a CPF/CNPJ in audit records. Both regions must hold the same secret, or a
    data subject's report would miss what the other region recorded."""

    @classmethod
    def from_secret(cls, secret: bytes) -> AppKeys:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the application secret must have at least {MIN_SECRET_BYTES} bytes")
        return cls(cursor=derive_key(secret, "cursor"), audit_subject=derive_key(secret, "audit-subject"))
