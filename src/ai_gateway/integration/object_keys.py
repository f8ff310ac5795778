"""Object keys: relative paths whose every segment is a safe name."""

from __future__ import annotations

import re

_SEGMENT = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,255}$")  # no control characters or slashes
MAX_KEY = 900


class InvalidObjectKey(ValueError):
    pass


def checked_key(key: str) -> str:
    """``key`` if it is a relative path of safe segments: no '..', leading '/' or empty part."""
    parts = key.split("/")
    safe = all(_SEGMENT.fullmatch(p) and p not in {".", ".."} for p in parts)
    if len(key) > MAX_KEY or not safe:
        raise InvalidObjectKey(key)
    return key
