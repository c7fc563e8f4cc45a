"""Subject hashes: one per person, keyed, and never mistaken for (or turned into) a document."""

from __future__ import annotations

import pytest

from chalicelib.api.catalog import ROUTES
from chalicelib.audit.subjects import EXTRACTORS, SUBJECT_HASH_LENGTH, document_digits, subject_hash
from chalicelib.documents import Cnpj, Cpf, InvalidDocument
from chalicelib.keys import AppKeys
from chalicelib.logs import mask
from tests.unit.builders import cnpj, cpf

KEY = AppKeys.from_secret(b"a test secret of at least thirty-two bytes").audit_subject


def test_every_personal_data_route_says_where_its_documents_are() -> None:
    assert set(EXTRACTORS) == {s.operation_id for s in ROUTES if s.personal_data}


def test_the_hash_is_the_contracts_hmac_of_the_digits() -> None:
    import base64
    import hashlib
    import hmac

    expected = base64.urlsafe_b64encode(hmac.new(KEY, b"70000000230", hashlib.sha256).digest()).decode()[:22]
    assert subject_hash("70000000230", KEY) == expected
    assert len(expected) == SUBJECT_HASH_LENGTH and "=" not in expected


def test_one_document_one_subject_whatever_its_spelling() -> None:
    digits = cpf(1)
    spellings: list[str | Cpf] = [digits, f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}", Cpf.parse(digits)]
    assert {subject_hash(s, KEY) for s in spellings} == {subject_hash(digits, KEY)}
    company = cnpj(1)
    assert subject_hash(f"{company[:2]}.{company[2:5]}.{company[5:8]}/{company[8:12]}-{company[12:]}", KEY) == (
        subject_hash(Cnpj.parse(company), KEY)
    )


def test_another_key_gives_other_hashes() -> None:
    other = AppKeys.from_secret(b"another secret of at least thirty-two bytes").audit_subject
    assert subject_hash(cpf(1), KEY) != subject_hash(cpf(1), other)
    assert subject_hash(cpf(1), KEY) != subject_hash(cpf(2), KEY)


@pytest.mark.parametrize(
    "raw", ["".join(chr(0xFF10 + int(d)) for d in "70000000230"), "7000000023²", "7000000023", "abc", "700000002300"]
)
def test_only_eleven_or_fourteen_ascii_digits_are_a_document(raw: str) -> None:
    with pytest.raises(InvalidDocument):
        document_digits(raw)


def test_hashes_pass_the_log_mask_untouched() -> None:
    # GIVEN thousands of subjects; WHEN their hashes are masked THEN none changes (no run of digits looks
    # like a CPF, CNPJ or phone number to the mask), so a masked copy of a line still finds its subject
    hashes = [subject_hash(cpf(n), KEY) for n in range(3000)] + [subject_hash(cnpj(n), KEY) for n in range(1000)]
    assert [h for h in hashes if mask(f'"subjects":["{h}"]') != f'"subjects":["{h}"]'] == []
    assert len(set(hashes)) == len(hashes)
