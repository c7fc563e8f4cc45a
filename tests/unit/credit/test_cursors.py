"""Pagination cursors of GET /v1/customers/{cpf}/decisions: signed, bound to the customer, holding no CPF.

A cursor ends up in access logs, browser histories and support tickets; it must not carry the
customer's CPF, and a client must not be able to forge one, edit one, or use one customer's
cursor to page through another's decisions.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.credit.cursors import DecisionCursors
from chalicelib.credit.model import BureauScore
from chalicelib.keys import AppKeys
from tests.unit.builders import cpf
from tests.unit.tokens import SignedClient, signed

ANA, BIA = cpf(3), cpf(4)
DECISIONS = 5


@pytest.fixture
def client(chalice_module: ModuleType, container: bootstrap.Container) -> Iterator[SignedClient]:
    today = container.credit.clock().date()
    for person in (ANA, BIA):
        container.credit.bureau.scores[person] = BureauScore(870, today - timedelta(days=1))  # type: ignore[attr-defined]
    with signed(chalice_module) as c:
        for person, count in ((ANA, DECISIONS), (BIA, 2)):
            for n in range(count):
                body = {
                    "cpf": person,
                    "amount": f"{1000 + n}.00",
                    "term_months": 24,
                    "product": "PERSONAL_LOAN",
                    "monthly_income": "8000.00",
                    "existing_debts": "0.00",
                }
                created = c.http.post(
                    "/v1/credit/decisions", headers={"Content-Type": "application/json"}, body=json.dumps(body)
                )
                assert created.status_code == 201
        yield c


def page(client: SignedClient, person: str, cursor: str | None = None, limit: int = 2) -> Any:
    query = f"limit={limit}" + (f"&cursor={cursor}" if cursor is not None else "")
    return client.http.get(f"/v1/customers/{person}/decisions?{query}")


def first_cursor(client: SignedClient, person: str = ANA) -> str:
    cursor = page(client, person).json_body["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


def assert_invalid_cursor(response: Any) -> None:
    assert response.status_code == 400, response.body
    error = json.loads(response.body)["error"]
    assert (error["code"], error["field"]) == ("INVALID_CURSOR", "cursor")


def unpadded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decoded(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def test_following_cursors_lists_every_decision_newest_first_once(client: SignedClient) -> None:
    amounts: list[str] = []
    cursor: str | None = None
    for _ in range(DECISIONS):
        body = page(client, ANA, cursor).json_body
        amounts += [d["application"]["amount"] for d in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert amounts == [f"{1000 + n}.00" for n in reversed(range(DECISIONS))]


def test_a_cursor_is_compact_url_safe_versioned_and_holds_no_cpf(client: SignedClient) -> None:
    cursor = first_cursor(client)
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,64}", cursor), cursor
    raw = decoded(cursor)
    assert raw[0] == 1  # the format's version
    for text in (cursor, raw.decode("latin-1")):
        assert ANA not in text and "CUSTOMER" not in text


def test_another_customers_cursor_is_rejected(client: SignedClient) -> None:
    assert_invalid_cursor(page(client, BIA, first_cursor(client, ANA)))


def test_every_edited_character_is_rejected(client: SignedClient) -> None:
    cursor = first_cursor(client)
    for i, char in enumerate(cursor):
        edited = cursor[:i] + ("A" if char != "A" else "B") + cursor[i + 1 :]
        assert_invalid_cursor(page(client, ANA, edited))


@pytest.mark.parametrize("cut", [1, 2, 10, 30])
def test_a_truncated_cursor_is_rejected(client: SignedClient, cut: int) -> None:
    cursor = first_cursor(client)
    assert_invalid_cursor(page(client, ANA, cursor[:-cut]))
    assert_invalid_cursor(page(client, ANA, cursor + "A" * cut))


def test_a_cursor_issued_under_another_key_is_rejected(client: SignedClient, container: bootstrap.Container) -> None:
    """As after the application secret is rotated, or from another deployment: start again."""
    position = container.credit.cursors.resume(ANA, first_cursor(client))
    other = AppKeys.from_secret(b"another-secret-of-at-least-32-bytes!").cursor
    assert position is not None and other != container.keys.cursor
    assert_invalid_cursor(page(client, ANA, DecisionCursors.with_key(other).issue(ANA, position)))


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "not-base64!!",
        "=",
        "A" * 5000,
        unpadded(json.dumps({"pk": {"S": "DECISION#dec_" + "0" * 32}, "customer": {"S": "CUSTOMER#" + ANA}}).encode()),
        unpadded(b"[" * 5000),
        "[" * 5000,
        unpadded(b"\x01" + b"\x00" * 40),
        unpadded(b"\x02" + b"\x00" * 40),
        "%00",
        "\u00b2",
    ],
)
def test_forged_cursors_are_rejected(client: SignedClient, forged: str) -> None:
    assert_invalid_cursor(page(client, ANA, forged))
