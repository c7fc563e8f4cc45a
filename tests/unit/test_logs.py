from __future__ import annotations

import io
import json
import logging
import re
import string
import time

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.adapters.powertools import MaskedJsonFormatter
from chalicelib.documents import Cnpj, Cpf
from chalicelib.logs import MaskingFilter, mask


@pytest.mark.parametrize(
    "secret",
    [
        "529.982.247-25",
        "52998224725",
        "11.222.333/0001-81",
        "11222333000181",
        "ana.souza@acme.com.br",
        "+55 11 98765-4321",
        "(11) 3456-7890",
    ],
)
def test_personal_data_is_masked(secret: str) -> None:
    assert secret not in mask(f"value={secret}; next")


def test_order_keys_amounts_and_timestamps_survive_masking() -> None:
    text = "ord_4f1234567890123abcdef0123456789a amount=150000.00 at 2026-11-22T10:00:00+00:00"
    assert mask(text) == text


def test_logged_records_are_json_with_messages_args_and_extras_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(MaskedJsonFormatter())
    logger = logging.getLogger("test.masking")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("signer %s", "52998224725", extra={"email": "x@y.com", "order_key": "ord_1"})
        try:
            raise ValueError("bad cnpj 11222333000181")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{"))
    assert first["message"] == "signer [CPF]" and first["email"] == "[EMAIL]" and first["order_key"] == "ord_1"
    assert "11222333000181" not in second["error"]


# Identifiers glued to letters, '_' or '#' (keys, variable names, table keys) or formatted are masked
# too; timestamps, amounts, our order keys, decision ids and request ids are left as they are.


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("cpf_52998224725", "cpf_[CPF]"),
        ("doc52998224725x", "doc[CPF]x"),
        ("CUSTOMER#52998224725", "CUSTOMER#[CPF]"),
        ("pk=CUSTOMER#529.982.247-25;", "pk=CUSTOMER#[CPF];"),
        ("id=529.982.247-25", "id=[CPF]"),
        ("cnpj_11222333000181_x", "cnpj_[CNPJ]_x"),
        ("A11.222.333/0001-81B", "A[CNPJ]B"),
        ("holder11222333000181", "holder[CNPJ]"),
        ("x.52998224725", "x.[CPF]"),
        ("52998224725-1", "[CPF]-1"),
        ("joao52998224725@acme.com.br", "[EMAIL]"),
        ("cpf_12345678909 doc12345678909x CUSTOMER#12345678909", "cpf_[CPF] doc[CPF]x CUSTOMER#[CPF]"),
        ("123.456.789-09 and 12.345.678/0001-95", "[CPF] and [CNPJ]"),
        ("cpf=\u0665\u0662\u0669\u0669\u0668\u0662\u0662\u0664\u0667\u0662\u0665", "cpf=[CPF]"),
    ],
)
def test_glued_and_formatted_identifiers_are_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-22T10:00:00.123456+00:00",
        "2026-11-22T10:00:00Z took 0.012s",
        "created_at=2026-11-22T10:00:00.000000+0000",
        "ord_52998224725abcdef0123456789abcde",
        "order_key=ord_4f1234567890123abcdef0123456789a",
        "dec_0000000000000000000052998224725",
        "request_id=9f0c2a1e-7b3d-4c55-8e21-052998224725",
        "amount=150000.00 limit=20 latency_ms=1234",
        "hash=sha256:3a5b0c",
    ],
)
def test_timestamps_keys_request_ids_and_other_numbers_survive(text: str) -> None:
    assert mask(text) == text


DOCUMENT = st.one_of(
    st.from_regex(r"[0-9]{9}", fullmatch=True).filter(lambda s: len(set(s)) > 1).map(Cpf.from_base),
    st.from_regex(r"[0-9]{12}", fullmatch=True).filter(lambda s: len(set(s[:8])) > 1).map(Cnpj.from_base),
)


def formatted(document: Cpf | Cnpj, style: int) -> str:
    d = document.digits
    if style == 0:
        return d
    if isinstance(document, Cpf):
        return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"


def touches_a_digit(prefix: str, suffix: str) -> bool:
    """Glued to another digit a document is just part of a longer number (a CPF is not '152998224725')."""
    return bool(re.search(r"\d\Z", prefix) or re.match(r"\d", suffix))


@given(document=DOCUMENT, style=st.integers(0, 1), prefix=st.text(max_size=30), suffix=st.text(max_size=30))
def test_any_valid_document_in_any_surrounding_text_is_masked(
    document: Cpf | Cnpj, style: int, prefix: str, suffix: str
) -> None:
    assume(not touches_a_digit(prefix, suffix))
    shown = formatted(document, style)
    assume(document.digits not in prefix + suffix and shown not in prefix + suffix)
    out = mask(prefix + shown + suffix)
    assert shown not in out and document.digits not in out


@given(document=DOCUMENT, glue=st.text(alphabet=string.ascii_letters + "_#:=", min_size=1, max_size=12))
def test_documents_glued_to_letters_or_underscores_are_masked(document: Cpf | Cnpj, glue: str) -> None:
    for text in (glue + document.digits, document.digits + glue, glue + document.digits + glue):
        assert document.digits not in mask(text)


@pytest.mark.parametrize("run", ["a", "1", "a."])
def test_masking_a_long_line_takes_linear_time(run: str) -> None:
    """The e-mail pattern used to rescan from every character: 64 KB of letters took over 10 s."""
    line = run * (65536 // len(run))
    started = time.perf_counter()
    mask(line)
    assert time.perf_counter() - started < 1.0
