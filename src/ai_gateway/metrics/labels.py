"""Label values with a bound: a series per configured name, never one per request."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

OTHER: Final = "other"
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class BoundedLabel:
    """Passes the first ``limit`` distinct values (cut to ``length`` characters) through and
    reports every later one as ``other``: values a peer chooses (a model name in an answer, a
    route) cannot grow the series without end."""

    def __init__(self, limit: int, length: int = 64, known: Iterable[str] = ()) -> None:
        self._limit = limit
        self._length = length
        self._seen: set[str] = {v[:length] for v in known}

    def __call__(self, value: str) -> str:
        value = value[: self._length]
        if value in self._seen:
            return value
        if len(self._seen) >= self._limit:
            return OTHER
        self._seen.add(value)
        return value


def status_class(status: int) -> str:
    """``2xx``, ``4xx`` ...: the status class keeps the series few."""
    return f"{status // 100}xx"


def method(value: str) -> str:
    return value if value in METHODS else OTHER


class Callers:
    """A prompt's caller label: the configured name its owner has (an API key's name), else its
    caller's name when limits are configured under it (a token's client id), else ``other``."""

    def __init__(self, names: Mapping[str, str], limited: Iterable[str] = ()) -> None:
        self._names = dict(names)
        self._limited = frozenset(limited)

    def __call__(self, owner: str, caller: str | None = None) -> str:
        named = self._names.get(owner)
        if named is not None:
            return named
        return caller if caller in self._limited else OTHER


class Kinds:
    """A prompt kind's label: the kinds the gateway has a template for, else ``other``; callers
    choose the kind, so it is not taken as it comes."""

    def __init__(self, known: Iterable[str]) -> None:
        self._known = frozenset(known)

    def __call__(self, kind: str) -> str:
        return kind if kind in self._known else OTHER
