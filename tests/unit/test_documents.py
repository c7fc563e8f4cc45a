from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.documents import Cnpj, Cpf, InvalidDocument, parse_document


def test_cpf_accepts_masked_and_bare_digits() -> None:
    assert Cpf.parse("529.982.247-25") == Cpf.parse("52998224725") == Cpf("52998224725")


def test_cnpj_accepts_masked_and_bare_digits() -> None:
    assert Cnpj.parse("11.222.333/0001-81").digits == "11222333000181"


@pytest.mark.parametrize(
    "raw",
    ["529.982.247-24", "5299822472", "111.111.111-11", "abc.def.ghi-jk", "", "529982247250"],
)
def test_cpf_rejects_bad_check_digits_lengths_and_repeated_digits(raw: str) -> None:
    with pytest.raises(InvalidDocument):
        Cpf.parse(raw)


@pytest.mark.parametrize("raw", ["11.222.333/0001-82", "00000000000000", "1122233300018"])
def test_cnpj_rejects_bad_documents(raw: str) -> None:
    with pytest.raises(InvalidDocument):
        Cnpj.parse(raw)


def test_parse_document_tells_cpf_from_cnpj_by_length() -> None:
    assert isinstance(parse_document("529.982.247-25"), Cpf)
    assert isinstance(parse_document("11222333000181"), Cnpj)
    with pytest.raises(InvalidDocument):
        parse_document("123")


def test_masked_forms_hide_the_identifying_digits() -> None:
    cpf, cnpj = Cpf.parse("52998224725"), Cnpj.parse("11222333000181")
    assert "52998224725" not in cpf.masked and cpf.masked.endswith("-**")
    assert "11222333000181" not in cnpj.masked


@given(st.from_regex(r"[0-9]{9}", fullmatch=True).filter(lambda s: len(set(s)) > 1))
def test_every_generated_cpf_validates_and_a_changed_check_digit_does_not(base: str) -> None:
    cpf = Cpf.from_base(base)
    assert Cpf.parse(cpf.digits) == cpf
    wrong = cpf.digits[:10] + str((int(cpf.digits[10]) + 1) % 10)
    with pytest.raises(InvalidDocument):
        Cpf.parse(wrong)


@given(st.from_regex(r"[0-9]{12}", fullmatch=True).filter(lambda s: len(set(s)) > 1))
def test_every_generated_cnpj_round_trips(base: str) -> None:
    cnpj = Cnpj.from_base(base)
    assert (
        Cnpj.parse(f"{cnpj.digits[:2]}.{cnpj.digits[2:5]}.{cnpj.digits[5:8]}/{cnpj.digits[8:12]}-{cnpj.digits[12:]}")
        == cnpj
    )
