from __future__ import annotations

import stat
import zipfile

import pytest

from ai_gateway.application.errors import PermanentFailure
from ai_gateway.integration.zip_archive import ZipLimits, extract_zip, looks_like_zip
from tests.factories import zip_of

LIMITS = ZipLimits(max_entries=50, max_total_bytes=10 * 1024 * 1024, max_ratio=100)


def info(name: str, mode: int) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name)
    entry.external_attr = mode << 16
    return entry


def refused_code(data: bytes, limits: ZipLimits = LIMITS) -> str:
    with pytest.raises(PermanentFailure) as refused:
        extract_zip(data, limits)
    return refused.value.code


def test_a_sound_archive_is_extracted_with_its_folders_flattened_to_paths() -> None:
    data = zip_of(
        [("item.json", b'{"id": 1}'), ("media/", b""), ("media/figure 1.png", b"\x89PNG")]
    )
    assert looks_like_zip(data)
    files = extract_zip(data, LIMITS)
    assert [(f.path, f.data) for f in files] == [
        ("item.json", b'{"id": 1}'),
        ("media/figure 1.png", b"\x89PNG"),
    ]


@pytest.mark.parametrize(
    "name", ["../evil.txt", "a/../../evil.txt", "/etc/passwd", "C:/win.ini", "a\\..\\b"]
)
def test_a_path_that_leaves_the_archive_is_refused(name: str) -> None:
    assert refused_code(zip_of([(name, b"x")])) == "zip_path_escape"


def test_a_symbolic_link_is_refused() -> None:
    link = info("link-to-etc", stat.S_IFLNK | 0o777)
    assert refused_code(zip_of([("ok.txt", b"x"), (link, b"/etc/passwd")])) == "zip_link"


def test_a_device_file_is_refused() -> None:
    assert refused_code(zip_of([(info("dev", stat.S_IFCHR | 0o600), b"")])) == "zip_special_file"


def mark_encrypted(data: bytes) -> bytes:
    """Sets the 'encrypted' flag in the local and central headers, as an encrypting tool would."""
    patched = bytearray(data)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = patched.find(signature)
        patched[at + flag_offset] |= 0x1
    return bytes(patched)


def test_an_encrypted_entry_is_refused() -> None:
    assert refused_code(mark_encrypted(zip_of([("secret.txt", b"x")]))) == "zip_encrypted"


def test_a_zip_bomb_is_refused_by_its_compression_ratio() -> None:
    bomb = zip_of([("zeros.bin", bytes(5 * 1024 * 1024))])
    assert len(bomb) < 20_000
    assert refused_code(bomb) == "zip_bomb"


def test_an_archive_over_the_size_limit_is_refused_before_extraction() -> None:
    limits = ZipLimits(max_entries=50, max_total_bytes=1000, max_ratio=1e9)
    assert refused_code(zip_of([("a", b"x" * 600), ("b", b"y" * 600)]), limits) == "zip_too_large"


def test_too_many_entries_are_refused() -> None:
    assert refused_code(zip_of([(f"f{i}", b"") for i in range(51)])) == "zip_too_many_entries"


@pytest.mark.parametrize("data", [b"not a zip at all", b"PK\x03\x04truncated", b""])
def test_a_damaged_archive_is_refused(data: bytes) -> None:
    assert refused_code(data) == "zip_invalid"
