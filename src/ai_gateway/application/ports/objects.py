"""Object storage: the files kept on behalf of prompts."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol


class ObjectNotFound(LookupError):
    pass


class ObjectStore(Protocol):
    """Files kept on behalf of prompts (their data, its extracted files, their answers).

    Keys are relative paths such as ``prompts/<id>/original.zip``. Unreachable storage raises
    DependencyUnavailable; a missing object ObjectNotFound.
    """

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def link(self, key: str, expires: timedelta) -> str | None:
        """A time-limited URL a downstream service can GET the object from, or None when this
        store cannot give one."""
        ...
