"""The operator console in a real browser: sign-in through the identity provider's login page or
with an admin key, the pages an operator reads, and the actions taken from them.

Each page is saved as a screenshot among the run's artifacts; every test checks that the browser
asked nothing of any origin but the gateway's (and the provider's, to sign in) and logged no error.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import BrowserPage
from tests.e2e.deployment import API_KEY, Deployment
from tests.idp_server import PUBLIC_CLIENT, IdpServer, user

OPS_KEY = "ops-key-0123456789abcdef"
KEYS = json.dumps(
    [f"mosaic:{API_KEY}", {"name": "ops", "key": OPS_KEY, "scopes": ["api", "admin"]}]
)
HOSTILE = '<script>window.pwned = 1</script><img src="/console/x" onerror="window.pwned = 2">'


@pytest.fixture
def gateway(deploy: Callable[..., Deployment]) -> tuple[Deployment, str]:
    """One serve process with its worker, the console signing in with the test provider."""
    deployment = deploy(
        SERVE_WORKER="true", CONSOLE_CLIENT_ID=PUBLIC_CLIENT, MOSAIC_API_KEYS=KEYS,
        GENAI_PROVIDER="openai", STEP_MAX_ATTEMPTS="1", CALLBACK_RETRY_SCHEDULE="0.2",
    )  # fmt: skip
    url = deployment.api()
    return deployment, url


def create(url: str, **body: object) -> str:
    response = httpx.post(
        f"{url}/api/prompts", json=body, headers={"X-API-Key": API_KEY}, timeout=10
    )
    response.raise_for_status()
    prompt_id: str = response.json()["id"]
    return prompt_id


def sign_in_with_key(page: Page, url: str) -> None:
    page.goto(f"{url}/console/")
    page.get_by_label("API key with the admin scope").fill(OPS_KEY)
    page.get_by_role("button", name="Sign in with the key").click()
    expect(page).to_have_title("Overview - AI Gateway console")


def test_an_operator_signs_in_at_the_provider_and_follows_a_prompt(
    browser_page: BrowserPage, gateway: tuple[Deployment, str], idp: IdpServer
) -> None:
    _, url = gateway
    prompt_id = create(url, content="Review this item", request_id="req-browser-1")
    page = browser_page.page

    page.goto(f"{url}/console/")
    expect(page).to_have_title("Sign in - AI Gateway console")
    browser_page.screenshot("login")
    page.get_by_role("link", name="Sign in with the identity provider").click()
    name, password = user(admin=True)
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_title("Overview - AI Gateway console")
    browser_page.screenshot("overview")
    page.get_by_role("link", name="Prompts", exact=True).click()
    expect(page.get_by_role("link", name=prompt_id)).to_be_visible()
    browser_page.screenshot("prompts")
    page.get_by_role("link", name=prompt_id).click()

    expect(page).to_have_title(f"Prompt {prompt_id} - AI Gateway console")
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("created")
    expect(page.get_by_text("req-browser-1")).to_be_visible()
    browser_page.screenshot("prompt")
    browser_page.assert_stayed_within(url, idp.issuer)
    browser_page.assert_no_console_errors()


def test_a_user_without_the_admin_scope_is_turned_away(
    browser_page: BrowserPage, gateway: tuple[Deployment, str], idp: IdpServer
) -> None:
    _, url = gateway
    page = browser_page.page

    page.goto(f"{url}/console/login")
    page.get_by_role("link", name="Sign in with the identity provider").click()
    name, password = user(admin=False)
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("needs the 'admin' scope")
    browser_page.screenshot("refused")
    page.goto(f"{url}/console/prompts")
    expect(page).to_have_title("Sign in - AI Gateway console")
    # the browser reports the refusal's 403 itself; nothing else went wrong
    assert [e for e in browser_page.console_errors if "403 (Forbidden)" not in e] == []
    assert all("/console/auth/callback?" in e for e in browser_page.console_errors)


def test_markup_in_a_prompt_and_its_answer_is_text_and_runs_nothing(
    browser_page: BrowserPage, gateway: tuple[Deployment, str]
) -> None:
    _, url = gateway
    prompt_id = create(url, content=HOSTILE)
    page = browser_page.page
    sign_in_with_key(page, url)

    page.goto(f"{url}/console/prompts/{prompt_id}")
    expect(page.get_by_role("region", name="Answer")).to_contain_text("openai says: <script>")

    expect(page.locator("pre.text").first).to_have_text(HOSTILE)
    assert page.evaluate("window.pwned") is None
    assert page.locator("main img").count() == 0
    browser_page.screenshot("hostile-prompt")
    browser_page.assert_stayed_within(url)
    browser_page.assert_no_console_errors()


def test_an_action_without_the_csrf_token_is_refused(
    browser_page: BrowserPage, gateway: tuple[Deployment, str]
) -> None:
    _, url = gateway
    page = browser_page.page
    sign_in_with_key(page, url)

    page.locator("form.who input[name=csrf]").evaluate("input => input.remove()")
    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_title("Action refused - AI Gateway console")
    expect(page.get_by_role("alert")).to_contain_text("CSRF token")
    page.goto(f"{url}/console/")
    expect(page).to_have_title("Overview - AI Gateway console")
