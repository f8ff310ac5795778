"""A real browser for the page tests: Debian's Chromium, driven by Playwright.

Playwright's own browser builds cannot be downloaded everywhere the suite runs, so the system
browser is launched by path. Each test gets a fresh context (no cookies shared between tests) and
a page that records what the browser did: its console errors, uncaught exceptions and every URL it
requested, so a test can prove that nothing left the gateway. Screenshots go under
``BROWSER_ARTIFACTS`` when set, else under the run's base temporary directory.

The tests are plain functions and their fixtures plain ones too: the gateway under test is a real
process, reached over HTTP. Playwright's synchronous API keeps its own event loop marked as running
for as long as the driver lives, so the driver and the browser last for this package only, and
asyncio code (an ``async def`` test or fixture) cannot run beside them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = ViewportSize(width=1280, height=800)
TIMEOUT_MS = 30_000  # a busy machine loads the 1.7 MB Swagger UI bundle slowly


@dataclass
class BrowserPage:
    """A page and what happened in it."""

    page: Page
    artifacts: Path
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        """Saves the whole page as ``<test>-<name>.png`` among the run's artifacts."""
        path = self.artifacts / f"{_file_name(name)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_usable_at(self, width: int, name: str) -> None:
        """The page at ``width`` pixels needs no sideways scrolling; saved as ``name``."""
        self.page.set_viewport_size({"width": width, "height": 768})
        scroll_width = self.page.evaluate("document.documentElement.scrollWidth")
        self.screenshot(name)
        self.page.set_viewport_size(VIEWPORT)
        assert scroll_width <= width, f"{name}: {scroll_width} px wide at {width}"

    def origins(self) -> set[str]:
        """Every origin the browser sent a request to (data: and blob: URLs stay in the page)."""
        parts = (urlsplit(url) for url in self.requests)
        return {f"{p.scheme}://{p.netloc}" for p in parts if p.scheme in {"http", "https"}}

    def assert_stayed_within(self, *origins: str) -> None:
        strangers = self.origins() - {o.rstrip("/") for o in origins}
        assert not strangers, f"the browser reached outside: {sorted(strangers)}"

    def assert_no_console_errors(self) -> None:
        assert not self.console_errors, f"console errors: {self.console_errors}"


def _file_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-")


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Root (as in CI) cannot use Chromium's sandbox.
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browser_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("BROWSER_ARTIFACTS")
    base = Path(configured) if configured else tmp_path_factory.getbasetemp() / "browser"
    base.mkdir(parents=True, exist_ok=True)
    return base


@pytest.fixture
def browser_page(
    browser: Browser, browser_artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[BrowserPage]:
    """A fresh context and page, recording console errors and requests."""
    artifacts = browser_artifacts / _file_name(request.node.name)
    artifacts.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    recorded = BrowserPage(page, artifacts)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            recorded.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def on_page_error(error: Error) -> None:
        recorded.console_errors.append(f"uncaught: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    context.on("request", lambda r: recorded.requests.append(r.url))
    yield recorded
    context.close()
