"""The cursor of a customer's decision listing: where the last page stopped, signed and bound to the customer.

Its payload is the position only, 24 bytes: the last decision's creation time (microseconds since
the epoch, signed 64-bit) and its id's 128 bits. The CPF is part of the signed scope, not of the
cursor (see chalicelib.cursors).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib.credit.model import DecisionPosition
from chalicelib.cursors import CursorSigner, invalid_cursor

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_LAYOUT = struct.Struct(">q16s")
_DECISION_ID = re.compile(r"dec_([0-9a-f]{32})")
_SCOPE = "credit/customer-decisions/"


@dataclass(frozen=True, slots=True)
class DecisionCursors:
    signer: CursorSigner

    @classmethod
    def with_key(cls, key: bytes) -> DecisionCursors:
        return cls(CursorSigner(key))

    def issue(self, cpf: str, position: DecisionPosition | None) -> str | None:
        if position is None:
            return None
        found = _DECISION_ID.fullmatch(position.decision_id)
        if found is None:
            raise ValueError(f"not a decision id: {position.decision_id[:40]!r}")
        micros = (position.created_at - _EPOCH) // _MICROSECOND
        return self.signer.seal(_LAYOUT.pack(micros, bytes.fromhex(found.group(1))), _SCOPE + cpf)

    def resume(self, cpf: str, cursor: str | None) -> DecisionPosition | None:
        """The position a cursor issued for this customer holds; InvalidCursor for any other string."""
        if cursor is None:
            return None
        payload = self.signer.open(cursor, _SCOPE + cpf)
        if len(payload) != _LAYOUT.size:
            raise invalid_cursor()
        micros, decision_id = _LAYOUT.unpack(payload)
        return DecisionPosition(_EPOCH + micros * _MICROSECOND, f"dec_{decision_id.hex()}")
