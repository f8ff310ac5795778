"""Object storage in a local folder: the embedded default. It cannot hand out links.

A key outside the naming rule raises InvalidObjectKey; a failing disk (full, read-only, gone)
DependencyUnavailable, as an unreachable S3 server does.

An object of at most ``WRITTEN_ON_THE_LOOP`` bytes (a prompt's answer, most unpacked files) is
written by the event loop itself: handing it to a thread cost the worker more than the write
(ADR 0036). Larger ones, and every read, go to a thread.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.application.ports.objects import ObjectNotFound
from ai_gateway.integration.object_keys import checked_key

OBJECT_STORAGE = "object storage"

WRITTEN_ON_THE_LOOP = 64 * 1024
"""Bytes up to which an object is written without a thread."""

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_COUNTER = itertools.count()


def _temporary_prefix() -> str:
    """Temporary names unique to this process (its pid may be reused by a later one), without
    tempfile's random draws and retries; O_EXCL still refuses a name that exists."""
    return f".tmp-{os.getpid()}-{os.urandom(4).hex()}-"


_TEMPORARY = _temporary_prefix()


def _forked() -> None:
    global _TEMPORARY  # noqa: PLW0603 - a forked child must not reuse its parent's names
    _TEMPORARY = _temporary_prefix()


os.register_at_fork(after_in_child=_forked)


def _write(path: str, data: bytes) -> None:
    """Written whole under a temporary name, then renamed: a reader never sees half a file."""
    folder = os.path.dirname(path)
    temporary = f"{folder}/{_TEMPORARY}{next(_COUNTER)}"
    fd: int | None = None
    closed = False
    try:
        try:
            fd = os.open(temporary, _NEW_FILE, 0o600)
        except FileNotFoundError:  # the folder's first object
            os.makedirs(folder, exist_ok=True)
            fd = os.open(temporary, _NEW_FILE, 0o600)
        rest = memoryview(data)
        while rest:
            rest = rest[os.write(fd, rest) :]
        closed = True  # before the call: a close that fails has released the descriptor too
        os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        if fd is not None:  # never remove a name this write did not create
            if not closed:
                with suppress(OSError):
                    os.close(fd)
            with suppress(OSError):
                os.unlink(temporary)
        raise


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self._root = str(root)

    def _path(self, key: str) -> str:
        return os.path.join(self._root, checked_key(key))

    async def put(self, key: str, data: bytes, content_type: str) -> None:  # noqa: ARG002 - a file has no type
        path = self._path(key)
        try:
            if len(data) <= WRITTEN_ON_THE_LOOP:
                _write(path, data)
                # Others' turn: a package of a thousand small files holds the loop one at a time.
                await asyncio.sleep(0)
            else:
                await asyncio.to_thread(_write, path, data)
        except OSError as exc:
            raise DependencyUnavailable(OBJECT_STORAGE) from exc

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(Path(path).read_bytes)
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise DependencyUnavailable(OBJECT_STORAGE) from exc

    async def link(self, key: str, expires: timedelta) -> str | None:  # noqa: ARG002
        checked_key(key)
        return None
