"""The test identity provider's sign-in, as a browser goes through it: the base of the page tests.

A public client signs users in with the authorization code and PKCE on the provider's own login
page; a user gets only the scopes the provider gives it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.browser.conftest import BrowserPage
from tests.http_servers import RecordingServer, Reply
from tests.idp_server import PUBLIC_CLIENT, IdpServer, claims_of, user

REDIRECT_PATH = "/docs/oauth2-redirect"


@pytest.fixture
def redirect_target() -> Iterator[RecordingServer]:
    """Where the provider sends the browser back: a loopback page on a port of its own."""
    server = RecordingServer()
    server.routes[REDIRECT_PATH] = lambda _: Reply(
        200, b"signed in", {"Content-Type": "text/plain"}
    )
    server.routes["/favicon.ico"] = lambda _: Reply(204)  # a missing one is a console error
    server.start()
    yield server
    server.stop()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _sign_in(page: BrowserPage, idp: IdpServer, redirect_uri: str, name: str, password: str) -> str:
    """Goes through the login page with a code challenge; returns the token response's access
    token, obtained with the matching verifier."""
    verifier, challenge = _pkce()
    query = {
        "client_id": PUBLIC_CLIENT, "response_type": "code", "redirect_uri": redirect_uri,
        "scope": "api admin", "state": secrets.token_urlsafe(8),
        "code_challenge": challenge, "code_challenge_method": "S256",
    }  # fmt: skip
    page.page.goto(f"{idp.issuer}/auth?{urlencode(query)}")
    page.page.get_by_label("Username").fill(name)
    page.page.get_by_label("Password").fill(password)
    page.page.get_by_role("button", name="Sign in").click()
    page.page.wait_for_url(f"{redirect_uri}?**")
    returned = parse_qs(urlsplit(page.page.url).query)
    assert returned["state"] == [query["state"]]
    response = httpx.post(
        f"{idp.issuer}/token",
        data={
            "grant_type": "authorization_code", "code": returned["code"][0],
            "redirect_uri": redirect_uri, "client_id": PUBLIC_CLIENT, "code_verifier": verifier,
        },
    )  # fmt: skip
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def test_an_operator_signs_in_on_the_login_page_and_gets_the_admin_scope(
    browser_page: BrowserPage, idp: IdpServer, redirect_target: RecordingServer
) -> None:
    name, password = user(admin=True)
    redirect_uri = redirect_target.url(REDIRECT_PATH)

    token = _sign_in(browser_page, idp, redirect_uri, name, password)

    claims = claims_of(token)
    assert claims["sub"] == name
    assert claims["client_id"] == PUBLIC_CLIENT
    assert claims["aud"] == "ai-gateways"
    assert set(claims["scope"].split()) == {"api", "admin"}
    browser_page.assert_stayed_within(idp.issuer, redirect_target.url(""))
    browser_page.assert_no_console_errors()


def test_a_user_without_the_admin_scope_is_granted_only_what_it_has(
    browser_page: BrowserPage, idp: IdpServer, redirect_target: RecordingServer
) -> None:
    name, password = user(admin=False)

    token = _sign_in(browser_page, idp, redirect_target.url(REDIRECT_PATH), name, password)

    assert claims_of(token)["scope"].split() == ["api"]


def test_a_wrong_password_is_refused_on_the_login_page(
    browser_page: BrowserPage, idp: IdpServer, redirect_target: RecordingServer
) -> None:
    name, _ = user(admin=True)
    _, challenge = _pkce()
    query = {
        "client_id": PUBLIC_CLIENT, "response_type": "code", "scope": "api",
        "redirect_uri": redirect_target.url(REDIRECT_PATH),
        "code_challenge": challenge, "code_challenge_method": "S256",
    }  # fmt: skip
    page = browser_page.page
    page.goto(f"{idp.issuer}/auth?{urlencode(query)}")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    assert page.get_by_role("alert").inner_text() == "Wrong username or password."
    browser_page.screenshot("wrong-password")
    assert not redirect_target.hits_on(REDIRECT_PATH)
