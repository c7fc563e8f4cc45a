"""Shape checks every JSON body shares: an object, and no field we would silently ignore."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from chalicelib.documents import Cpf, InvalidDocument
from chalicelib.errors import InvalidDocumentError, ValidationFailed


def json_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationFailed("request body must be a JSON object")
    return body


def reject_unknown(value: dict[str, Any], allowed: Collection[str], where: str = "") -> None:
    """A typo'd field is an error, not a default: name it, with its path."""
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        name = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ValidationFailed(f"unknown field '{name}'", field=name)


def parse_cpf(raw: object, field: str = "cpf") -> Cpf:
    """A CPF from a path or a body, or a 400 naming where it came from."""
    try:
        return Cpf.parse(raw)  # type: ignore[arg-type]  # a non-string is reported as invalid
    except InvalidDocument as exc:
        raise InvalidDocumentError(str(exc), field=field) from None
