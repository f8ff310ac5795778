"""Object storage in a local folder: the embedded default. It cannot hand out links.

A key outside the naming rule raises InvalidObjectKey; a failing disk (full, read-only, gone)
DependencyUnavailable, as an unreachable S3 server does.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import timedelta
from pathlib import Path

from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.application.ports.objects import ObjectNotFound
from ai_gateway.integration.object_keys import checked_key

OBJECT_STORAGE = "object storage"


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, key: str) -> Path:
        return self._root / checked_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:  # noqa: ARG002 - a file has no type
        path = self._path(key)
        try:
            await asyncio.to_thread(self._write, path, data)
        except OSError as exc:
            raise DependencyUnavailable(OBJECT_STORAGE) from exc

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole, then renamed: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise DependencyUnavailable(OBJECT_STORAGE) from exc

    async def link(self, key: str, expires: timedelta) -> str | None:  # noqa: ARG002
        checked_key(key)
        return None
