"""The operator console's door: who gets a session, what the session cookie is, and that every
action needs the session's CSRF token. Pages are fetched as a browser would, through the app."""

from __future__ import annotations

import re

import httpx
import pytest

from ai_gateway.api.console import CONTENT_SECURITY_POLICY
from tests.api.conftest import MOSAIC_KEY, OPS_KEY

pytestmark = pytest.mark.integration

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def browser(ops_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client without credentials in its headers: it has what a browser has, cookies."""
    return ops_client


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, f"no hidden {name} field"
    return found.group(1)


async def sign_in(browser: httpx.AsyncClient, key: str) -> httpx.Response:
    page = await browser.get("/console/login")
    token = hidden(page.text, "token")
    return await browser.post("/console/login", data={"token": token, "api_key": key})


async def test_an_operator_key_opens_the_console_with_a_strict_session_cookie(
    browser: httpx.AsyncClient,
) -> None:
    signed_in = await sign_in(browser, OPS_KEY)
    overview = await browser.get("/console/")

    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/console/"
    cookie = next(
        c for c in signed_in.headers.get_list("set-cookie") if c.startswith("gw_console=")
    )
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/console"} <= attributes
    assert "secure" not in attributes  # plain http here; https adds it
    assert overview.status_code == 200
    assert "<title>Overview - AI Gateway console</title>" in overview.text
    assert overview.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert overview.headers["cache-control"] == "no-store"


async def test_a_key_without_the_admin_scope_is_refused(browser: httpx.AsyncClient) -> None:
    refused = await sign_in(browser, MOSAIC_KEY)
    overview = await browser.get("/console/")

    assert refused.status_code == 403
    assert "needs the &#39;admin&#39; scope" in refused.text
    assert not any(c.startswith("gw_console=") for c in refused.headers.get_list("set-cookie"))
    assert overview.status_code == 303
    assert overview.headers["location"] == "/console/login"


async def test_an_unknown_key_and_a_form_from_elsewhere_are_refused(
    browser: httpx.AsyncClient,
) -> None:
    unknown = await sign_in(browser, "not-a-key-0123456789")
    browser.cookies.clear()
    forged = await browser.post("/console/login", data={"token": "made-up", "api_key": OPS_KEY})

    assert unknown.status_code == 401
    assert "not valid" in unknown.text
    assert forged.status_code == 400
    assert "expired" in forged.text
    assert (await browser.get("/console/prompts")).status_code == 303


async def test_signing_out_needs_the_sessions_csrf_token(browser: httpx.AsyncClient) -> None:
    await sign_in(browser, OPS_KEY)
    page = await browser.get("/console/")
    csrf = hidden(page.text, "csrf")

    without = await browser.post("/console/logout", data={"note": "no token"})
    wrong = await browser.post("/console/logout", data={"csrf": csrf[::-1]})
    still_in = await browser.get("/console/")
    signed_out = await browser.post("/console/logout", data={"csrf": csrf})
    gone = [c for c in signed_out.headers.get_list("set-cookie") if c.startswith("gw_console=")]

    assert without.status_code == 403
    assert "CSRF token" in without.text
    assert wrong.status_code == 403
    assert still_in.status_code == 200
    assert signed_out.status_code == 303
    assert gone
    assert "max-age=0" in gone[0].lower()


async def test_a_tampered_session_cookie_is_no_session(browser: httpx.AsyncClient) -> None:
    await sign_in(browser, OPS_KEY)
    value = browser.cookies["gw_console"]
    browser.cookies.clear()
    browser.cookies.set("gw_console", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))

    assert (await browser.get("/console/")).status_code == 303


async def test_the_assets_are_served_by_the_gateway(browser: httpx.AsyncClient) -> None:
    script = await browser.get("/console/static/htmx.min.js")
    style = await browser.get("/console/static/console.css")

    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert style.status_code == 200
    assert script.headers["x-content-type-options"] == "nosniff"


async def test_a_console_form_is_read_but_an_anonymous_json_body_still_is_not(
    browser: httpx.AsyncClient,
) -> None:
    big = "x" * 70_000
    too_big = await browser.post("/console/login", content=f"token=a&api_key={big}", headers=FORM)
    anonymous_json = await browser.post("/api/prompts", json={"content": "x"})

    assert too_big.status_code == 403
    assert "too large" in too_big.text
    assert anonymous_json.status_code == 401
