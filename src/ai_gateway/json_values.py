"""What RFC 8259 says is no JSON value, though Python's ``json`` reads it: ``NaN``, ``Infinity``,
and a number too large for a float (``1e400`` reads as infinity). Both the gateway's door and the
reading of a GenAI answer refuse them, through these hooks of ``json.loads``."""

from __future__ import annotations

from typing import Any


class MalformedJson(ValueError):
    """The text is not JSON, or is JSON this gateway refuses."""


def no_constant(name: str) -> Any:
    """``parse_constant``: NaN, Infinity and -Infinity are refused."""
    raise MalformedJson(f"{name} is not a JSON value")


def finite(text: str) -> float:
    """``parse_float``: a number that overflows a float is refused."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise MalformedJson(f"the number {text[:20]} is out of range")
    return value
