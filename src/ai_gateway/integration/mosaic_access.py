"""Where the Mosaic API's token may go: Mosaic's origin, and there only the configured paths.

A caller names the data package and callback URLs, so the token must not follow any URL that
merely starts like ``MOSAIC_BASE_URL``. A URL earns the token when its scheme, host and port are
those of the base URL, its path lies below the base URL's path, and matches one of the absolute
path patterns configured for that use (``MOSAIC_DATA_PATHS``, ``MOSAIC_CALLBACK_PATHS``). Patterns
go segment by segment: ``*`` (or any ``fnmatch`` pattern) matches one segment, a final ``**`` zero
or more further segments.

A path earns the token only when every segment is plainly one segment to any server: made of
letters, digits and the RFC 3986 path characters other than ``;`` (a path parameter that Tomcat
and others strip, so ``..;`` is ``..`` to them), without ``%`` (an encoded ``.``, ``/``, ``\\`` or
``;``, once or twice over), without a raw ``\\`` (a separator on some servers), not empty and not
``.`` or starting with ``..``. The check is an allow-list: what it does not name never matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

import httpx

from ai_gateway.application.ports.identity import TokenSource
from ai_gateway.integration.safe_http import origin

_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,=:@-]+")


def _plain(segment: str) -> bool:
    return (
        _PLAIN_SEGMENT.fullmatch(segment) is not None
        and segment != "."
        and not segment.startswith("..")
    )


class PathPatterns:
    def __init__(self, patterns: Iterable[str]) -> None:
        self._patterns = tuple(tuple(p.removeprefix("/").split("/")) for p in patterns)

    def match(self, segments: Sequence[str]) -> bool:
        return any(_matches(p, segments) for p in self._patterns)


def _matches(pattern: Sequence[str], segments: Sequence[str]) -> bool:
    if pattern and pattern[-1] == "**":
        head = pattern[:-1]
        return len(segments) >= len(head) and _matches(head, segments[: len(head)])
    return len(pattern) == len(segments) and all(
        fnmatchcase(s, p) for p, s in zip(pattern, segments, strict=True)
    )


class MosaicAccess:
    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        *,
        data_paths: Iterable[str],
        callback_paths: Iterable[str],
    ) -> None:
        base = httpx.URL(base_url)
        self._origin = origin(base)
        self._base = [s for s in base.raw_path.split(b"?", 1)[0].decode().split("/") if s]
        self._tokens = tokens
        self._data = PathPatterns(data_paths)
        self._callbacks = PathPatterns(callback_paths)

    def __repr__(self) -> str:
        return f"MosaicAccess(origin={self._origin!r})"

    async def data_headers(self, url: httpx.URL) -> dict[str, str]:
        """The Authorization header for a data package URL, or nothing."""
        return await self._headers(url, self._data)

    async def callback_headers(self, url: httpx.URL) -> dict[str, str]:
        """The Authorization header for a callback URL, or nothing."""
        return await self._headers(url, self._callbacks)

    def _segments(self, url: httpx.URL) -> list[str] | None:
        if origin(url) != self._origin or url.userinfo:
            return None
        raw = url.raw_path.split(b"?", 1)[0]
        segments = raw.decode("ascii", errors="replace").split("/")[1:]
        if not all(_plain(s) for s in segments):
            return None
        if segments[: len(self._base)] != self._base:
            return None
        return segments

    async def _headers(self, url: httpx.URL, patterns: PathPatterns) -> dict[str, str]:
        segments = self._segments(url)
        if segments is None or not patterns.match(segments):
            return {}
        return {"Authorization": f"Bearer {await self._tokens.token()}"}
