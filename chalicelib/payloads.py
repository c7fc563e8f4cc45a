"""Shape checks every JSON body shares: an object, and no field we would silently ignore."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from chalicelib.errors import ValidationFailed


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
