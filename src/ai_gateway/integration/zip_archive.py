"""Checking and extracting a zip before anything of it is used.

Refused, each with its own fault code: not a zip, too many entries, a path that is absolute or
climbs out with '..', a name the object stores cannot keep (the naming rule of ``object_keys``:
control characters, '.', over-long segments or paths, a file and a folder of the same name), a
symbolic link or any entry that is not a plain file or folder, an encrypted entry, a declared total
over the size limit, a compression ratio over the limit (a zip bomb). The declared sizes are not
trusted: every entry is read with a cap of what it declared.
"""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from ai_gateway.application.errors import PermanentFailure
from ai_gateway.application.ports.data import ArchiveFile
from ai_gateway.integration.object_keys import MAX_PATH_BYTES, file_folder_clash, path_problem

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass(frozen=True, slots=True)
class ZipLimits:
    max_entries: int
    max_total_bytes: int
    max_ratio: float


@dataclass(frozen=True, slots=True)
class ExtractedFile:
    path: str
    data: bytes


def looks_like_zip(data: bytes) -> bool:
    return data.startswith(ZIP_MAGIC)


def _refuse(code: str, detail: str) -> PermanentFailure:
    return PermanentFailure(code, detail)


def _checked_path(name: str) -> str:
    posix = PurePosixPath(name)
    if (
        name.startswith(("/", "\\"))
        or PureWindowsPath(name).drive
        or ".." in posix.parts
        or "\\" in name
        or "\x00" in name
    ):
        raise _refuse("zip_path_escape", f"entry {name[:200]!r} is absolute or leaves the archive")
    path = str(posix)
    problem = path_problem(path, MAX_PATH_BYTES)
    if problem is not None:
        raise _refuse("zip_entry_name", f"entry {name[:200]!r} {problem}")
    return path


def _check_entry(info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    # Unix file type bits, when the archiver stored any (many store permissions only).
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise _refuse("zip_link", f"entry {info.filename[:200]!r} is a symbolic link")
    if kind not in {0, stat.S_IFREG, stat.S_IFDIR}:
        raise _refuse("zip_special_file", f"entry {info.filename[:200]!r} is not a plain file")
    if info.flag_bits & 0x1:
        raise _refuse("zip_encrypted", f"entry {info.filename[:200]!r} is encrypted")
    if info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise _refuse(
            "zip_bomb", f"entry {info.filename[:200]!r} expands more than {limits.max_ratio:g}x"
        )


def extract_zip(data: bytes, limits: ZipLimits) -> list[ExtractedFile]:
    """The archive's files, after every check; raises PermanentFailure with the reason."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
        raise _refuse("zip_invalid", f"the data is not a readable zip archive: {exc}") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_entries:
            raise _refuse(
                "zip_too_many_entries", f"{len(entries)} entries, the limit is {limits.max_entries}"
            )
        declared = sum(i.file_size for i in entries)
        if declared > limits.max_total_bytes:
            raise _refuse(
                "zip_too_large",
                f"{declared} bytes uncompressed, the limit is {limits.max_total_bytes}",
            )
        paths = [_checked_path(info.filename) for info in entries]
        _check_clashes(paths, entries)
        files: list[ExtractedFile] = []
        for path, info in zip(paths, entries, strict=True):
            _check_entry(info, limits)
            if info.is_dir():
                continue
            files.append(ExtractedFile(path, _read_capped(archive, info)))
        return files


def _check_clashes(paths: list[str], entries: list[zipfile.ZipInfo]) -> None:
    files = [p for p, i in zip(paths, entries, strict=True) if not i.is_dir()]
    clash = file_folder_clash(files)
    if clash is None:
        listed = set(files)
        clash = next((p for p, i in zip(paths, entries, strict=True) if i.is_dir() and p in listed),
                     None)  # fmt: skip
    if clash is not None:
        raise _refuse("zip_name_clash", f"{clash[:200]!r} is a file twice, or a file and a folder")


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        with archive.open(info) as entry:
            content = entry.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise _refuse(
            "zip_invalid", f"entry {info.filename[:200]!r} cannot be read: {exc}"
        ) from None
    if len(content) > info.file_size:
        raise _refuse("zip_bomb", f"entry {info.filename[:200]!r} is larger than it declares")
    return content


class ZipArchiveReader:
    """The ArchiveReader port: data that is a zip is checked and extracted; other data is not."""

    def __init__(self, limits: ZipLimits) -> None:
        self._limits = limits

    def files(self, data: bytes, content_type: str) -> list[ArchiveFile] | None:
        if not (
            looks_like_zip(data)
            or content_type.split(";", maxsplit=1)[0].strip() == "application/zip"
        ):
            return None
        return [ArchiveFile(f.path, f.data) for f in extract_zip(data, self._limits)]
