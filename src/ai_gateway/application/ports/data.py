"""A prompt's data package: downloaded from its URL, then unpacked when it is an archive."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class FetchedData:
    content: bytes
    content_type: str


class DataSource(Protocol):
    """Downloads a prompt's data package; raises TransientFailure or PermanentFailure."""

    async def fetch(self, url: str) -> FetchedData: ...


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    path: str
    data: bytes


class ArchiveReader(Protocol):
    """The files of a data package that is an archive (checked first; PermanentFailure when
    unsafe), or None when the data is not an archive."""

    def files(self, data: bytes, content_type: str) -> Sequence[ArchiveFile] | None: ...
