from __future__ import annotations

import io
import json
import logging

import pytest

from chalicelib.logs import JsonFormatter, MaskingFilter, mask


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
    handler.setFormatter(JsonFormatter())
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
