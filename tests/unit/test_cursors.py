"""The signed cursor format (chalicelib.cursors): what it carries, and that nothing else opens."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.credit.cursors import DecisionCursors
from chalicelib.credit.model import DecisionPosition
from chalicelib.cursors import TAG_BYTES, CursorSigner
from chalicelib.errors import InvalidCursor

SIGNER = CursorSigner(b"k" * 32)
POSITION = DecisionPosition(datetime(2026, 11, 22, 12, 0, 0, 123456, tzinfo=UTC), "dec_" + "0123456789abcdef" * 2)


def raw(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def spelled(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@given(payload=st.binary(max_size=64), scope=st.text(max_size=40))
def test_what_is_sealed_opens_for_its_scope_only(payload: bytes, scope: str) -> None:
    cursor = SIGNER.seal(payload, scope)
    assert SIGNER.open(cursor, scope) == payload
    with pytest.raises(InvalidCursor):
        SIGNER.open(cursor, scope + "x")
    with pytest.raises(InvalidCursor):
        CursorSigner(b"j" * 32).open(cursor, scope)


@given(payload=st.binary(min_size=1, max_size=32), data=st.data())
def test_any_changed_bit_is_rejected(payload: bytes, data: st.DataObject) -> None:
    sealed = bytearray(raw(SIGNER.seal(payload, "s")))
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1))
    sealed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(InvalidCursor) as error:
        SIGNER.open(spelled(bytes(sealed)), "s")
    assert (error.value.code, error.value.field) == ("INVALID_CURSOR", "cursor")


def test_the_scope_is_signed_but_not_carried() -> None:
    cpf = "52998224725"
    cursor = DecisionCursors(SIGNER).issue(cpf, POSITION)
    assert cursor is not None and cpf not in cursor and cpf.encode() not in raw(cursor)
    assert len(raw(cursor)) == 1 + 24 + TAG_BYTES and len(cursor) == 55


def test_a_decision_position_round_trips_to_the_microsecond() -> None:
    cursors = DecisionCursors(SIGNER)
    assert cursors.resume("52998224725", cursors.issue("52998224725", POSITION)) == POSITION
    assert cursors.issue("52998224725", None) is None and cursors.resume("52998224725", None) is None


def test_a_second_spelling_of_the_same_bytes_is_rejected() -> None:
    """Base64 leaves unused low bits in the last character; setting them must not give a valid twin."""
    cursor = SIGNER.seal(b"ab", "s")  # 1 + 2 + 16 = 19 bytes: the last character carries 4 unused bits
    twin = cursor[:-1] + spelled(raw(cursor))[-1:].translate(str.maketrans("AQgw", "BRhx"))
    assert twin != cursor and raw(twin) == raw(cursor)
    with pytest.raises(InvalidCursor):
        SIGNER.open(twin, "s")


def test_another_version_is_rejected_even_when_signed() -> None:
    body = bytes([2]) + b"payload"
    tag = SIGNER._tag(body, "s")
    with pytest.raises(InvalidCursor):
        SIGNER.open(spelled(body + tag), "s")


def test_a_signed_payload_of_the_wrong_size_is_not_a_position() -> None:
    with pytest.raises(InvalidCursor):
        DecisionCursors(SIGNER).resume("52998224725", SIGNER.seal(b"short", "credit/customer-decisions/52998224725"))
