"""Swagger UI at /docs, in a real browser: it loads from the gateway alone, and an operator signs
in through the identity provider's login page (authorization code with PKCE) and submits a prompt.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from playwright.sync_api import Page

from tests.browser.conftest import BrowserPage
from tests.e2e.deployment import Deployment
from tests.idp_server import PUBLIC_CLIENT, IdpServer, user


def _gateway_with_swagger_login(deploy: Callable[..., Deployment], idp: IdpServer) -> str:
    deployment = deploy(
        SWAGGER_UI_CLIENT_ID=PUBLIC_CLIENT,
        SWAGGER_UI_AUTHORIZATION_URL=f"{idp.issuer}/auth",
        SWAGGER_UI_TOKEN_URL=f"{idp.issuer}/token",
    )
    return deployment.api()


def _sign_in_with_authorization_code(page: Page, name: str, password: str) -> None:
    page.get_by_role("button", name="Authorize").first.click()
    flow = page.locator(".auth-container").filter(has_text="authorizationCode")
    flow.get_by_text("select none").click()
    flow.get_by_text("api", exact=True).click()
    with page.expect_popup() as opened:
        flow.locator("button.authorize").click()
    login = opened.value
    login.get_by_label("Username").fill(name)
    login.get_by_label("Password").fill(password)
    with login.expect_event("close"):  # the redirect page hands the code over and closes
        login.get_by_role("button", name="Sign in").click()
    flow.locator("button", has_text="Logout").wait_for()
    page.locator("button.btn-done").first.click()


def test_an_operator_signs_in_to_swagger_ui_and_submits_a_prompt(
    browser_page: BrowserPage, deploy: Callable[..., Deployment], idp: IdpServer
) -> None:
    gateway = _gateway_with_swagger_login(deploy, idp)
    page = browser_page.page
    page.goto(f"{gateway}/docs")
    page.get_by_text("AI Gateway").first.wait_for()
    browser_page.screenshot("docs")

    _sign_in_with_authorization_code(page, *user(admin=True))
    operation = page.locator("#operations-Prompts-create_prompt_api_prompts_post")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator("textarea.body-param__text").fill(json.dumps({"content": "from the docs"}))
    operation.get_by_role("button", name="Execute").click()
    live = operation.locator(".live-responses-table tbody")
    status = live.locator(".response-col_status").first
    status.wait_for()
    browser_page.screenshot("docs-prompt-created")

    assert status.inner_text().strip() == "201"
    body = json.loads(live.locator(".response-col_description pre.microlight").first.inner_text())
    assert body["status"] == "created"
    browser_page.assert_stayed_within(gateway, idp.issuer)
    browser_page.assert_no_console_errors()
