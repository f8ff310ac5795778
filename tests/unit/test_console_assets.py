"""The console's templates and browser files are package data, so the wheel ships them; htmx is
among the pinned browser packages (web/assets.json), whose copies tests/api/test_docs_pages.py
compares with the packages themselves."""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "ai_gateway"
CONSOLE = PACKAGE / "api" / "console"


def _shipped(relative: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)


def test_every_console_template_and_file_is_package_data() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    files = [p for p in CONSOLE.rglob("*") if p.is_file() and p.suffix not in {".py", ".pyc"}]

    assert {p.name for p in files} >= {"console.css", "base.html", "prompt.html"}
    for path in files:
        relative = path.relative_to(CONSOLE).as_posix()
        assert _shipped(relative, package_data["ai_gateway.api.console"]), relative
    assert _shipped("api/static/htmx/htmx.min.js", package_data["ai_gateway"])


def test_htmx_is_a_pinned_browser_package_copied_into_the_package() -> None:
    pinned = json.loads((ROOT / "web" / "package.json").read_text())["dependencies"]["htmx.org"]
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text())
    manifest = json.loads((ROOT / "web" / "assets.json").read_text())["htmx.org"]

    assert lock["packages"]["node_modules/htmx.org"]["version"] == pinned
    assert "dist/htmx.min.js" in manifest["files"]
    assert (PACKAGE / "api" / "static" / manifest["into"] / "htmx.min.js").is_file()
