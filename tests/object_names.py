"""Names for the naming rule shared by the zip check and the object stores."""

from __future__ import annotations

import io
import warnings
import zipfile

# Odd, but every store keeps them: the zip check must let them through.
KEPT = [
    "item 1 (v2) #é.json",
    "ünïcödé/文件.txt",
    "x" * 255,
    "é" * 127,
    "/".join(["d" * 150] * 5),
    "trailing space ",
    "-dash/.hidden",
    "%41%2F?query&x=1;y=2",
    "emoji-😀.png",
]

# Each single entry name that no store can keep, with the zip check's code for it.
REFUSED = [
    (".", "zip_entry_name"),
    ("bell\x07.txt", "zip_entry_name"),
    ("line\nbreak.txt", "zip_entry_name"),
    ("del\x7f", "zip_entry_name"),
    ("c1-\x85-control", "zip_entry_name"),
    ("x" * 256, "zip_entry_name"),
    ("é" * 128, "zip_entry_name"),
    ("/".join(["d" * 200] * 5), "zip_entry_name"),
    ("../up.txt", "zip_path_escape"),
]

# Entry sets whose names clash: a file twice, or a file and a folder of the same name.
CLASHES = [
    ("a", "a/b"),
    ("a/b", "a"),
    ("a/", "a"),
    ("a", "a"),
    ("a/b", "a/./b"),
]


def zip_named(*names: str) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about a duplicate name, which we want
        with zipfile.ZipFile(buffer, "w") as archive:
            for name in names:
                archive.writestr(zipfile.ZipInfo(name), b"" if name.endswith("/") else b"x")
    return buffer.getvalue()
