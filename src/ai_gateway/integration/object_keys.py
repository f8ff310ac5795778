"""The one naming rule for object keys, shared by every object store and by the zip check.

A key is a relative path of segments. A segment is 1 to 255 bytes of UTF-8 (the limit of a file
name on common file systems), has no control character (C0, DEL or C1), no slash or backslash, and
is neither ``.`` nor ``..``. A whole key is at most 900 bytes, under S3's 1024. The zip check
applies the same rule to entry names, keeping ``PREFIX_ROOM`` bytes for the prefix the pipeline
puts in front, so that an entry it accepts is one every store can keep.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ai_gateway.application.errors import PermanentFailure

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f/\\]")
MAX_SEGMENT_BYTES = 255
MAX_KEY_BYTES = 900
# ``prompts/<32 hex>/data/files/`` is 52 bytes; the rest is a margin for longer prefixes.
PREFIX_ROOM = 100
MAX_PATH_BYTES = MAX_KEY_BYTES - PREFIX_ROOM


class InvalidObjectKey(PermanentFailure):
    """A key outside the naming rule: no store keeps it, so retrying cannot help."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__("object_key_invalid", f"{key[:200]!r} {reason}")
        self.reason = reason


def _utf8_length(text: str) -> int | None:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def path_problem(path: str, max_bytes: int = MAX_KEY_BYTES) -> str | None:
    """Why ``path`` breaks the naming rule, or None when it keeps it."""
    length = _utf8_length(path)
    if length is None:
        return "is not valid Unicode text"
    if length > max_bytes:
        return f"is longer than {max_bytes} bytes"
    for segment in path.split("/"):
        if segment in {"", ".", ".."}:
            return "has an empty, '.' or '..' segment"
        if _FORBIDDEN.search(segment):
            return "has a control character or a backslash"
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return f"has a segment longer than {MAX_SEGMENT_BYTES} bytes"
    return None


def file_folder_clash(paths: Iterable[str]) -> str | None:
    """A path that is both a file and a folder (or a file twice) among ``paths``, or None.

    A folder cannot share its name with a file on a file system, so such a set cannot be kept.
    """
    files: set[str] = set()
    folders: set[str] = set()
    for path in paths:
        if path in files or path in folders:
            return path
        files.add(path)
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in files:
                return folder
            folders.add(folder)
    return None


def checked_key(key: str) -> str:
    """``key`` if it keeps the naming rule; InvalidObjectKey if not."""
    problem = path_problem(key)
    if problem is not None:
        raise InvalidObjectKey(key, problem)
    return key
