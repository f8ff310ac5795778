"""The operator console in a real browser: sign-in through the identity provider's login page or
with an admin key, the pages an operator reads, and the actions taken from them.

Each page is saved as a screenshot among the run's artifacts; every test checks that the browser
asked nothing of any origin but the gateway's (and the provider's, to sign in) and logged no error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import BrowserPage
from tests.e2e.deployment import API_KEY, Deployment
from tests.e2e.outside_world import Services
from tests.http_servers import Reply
from tests.idp_server import PUBLIC_CLIENT, IdpServer, user
from tests.waiting import wait_until

OPS_KEY = "ops-key-0123456789abcdef"
KEYS = json.dumps(
    [f"mosaic:{API_KEY}", {"name": "ops", "key": OPS_KEY, "scopes": ["api", "admin"]}]
)
LIMITS = json.dumps({"mosaic": {"requests": "100/minute", "tokens_per_day": 50_000}})
HOSTILE = '<script>window.pwned = 1</script><img src="/console/x" onerror="window.pwned = 2">'


@pytest.fixture
def gateway(deploy: Callable[..., Deployment]) -> tuple[Deployment, str]:
    """One serve process with its worker, the console signing in with the test provider."""
    deployment = deploy(
        SERVE_WORKER="true", CONSOLE_CLIENT_ID=PUBLIC_CLIENT, MOSAIC_API_KEYS=KEYS,
        GENAI_PROVIDER="openai", STEP_MAX_ATTEMPTS="1", CALLBACK_RETRY_SCHEDULE="0.2",
        CALLER_LIMITS=LIMITS,
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
    browser_page: BrowserPage, gateway: tuple[Deployment, str], idp: IdpServer, services: Services
) -> None:
    _, url = gateway
    prompt_id = create(
        url, content="Review this item", request_id="req-browser-1",
        data_url=services.http.url("/data/item.zip"),
    )  # fmt: skip
    wait_for(url, prompt_id, lambda p: p["status"] == "completed")
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
    refresh = page.wait_for_event(
        "requestfinished", lambda r: r.headers.get("hx-request") == "true", timeout=15_000
    )
    assert refresh.url == f"{url}/console/"
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    browser_page.screenshot("overview")
    browser_page.assert_usable_at(1024, "overview-1024")
    page.get_by_role("link", name="Prompts", exact=True).click()
    expect(page.get_by_role("link", name=prompt_id)).to_be_visible()
    browser_page.screenshot("prompts")
    browser_page.assert_usable_at(1024, "prompts-1024")
    page.get_by_role("link", name=prompt_id).click()

    expect(page).to_have_title(f"Prompt {prompt_id} - AI Gateway console")
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("created")
    expect(timeline).to_contain_text("ai-gateway.prompt.received.v1")
    expect(timeline).to_contain_text("ai-gateway.prompt.response.received.v1")
    expect(page.get_by_text("req-browser-1")).to_be_visible()
    downloads = page.get_by_role("region", name="Data objects").get_by_role("link")
    expect(downloads).not_to_have_count(0)
    for link in downloads.all():  # presigned by the gateway, fetched here, not by the page
        assert httpx.get(str(link.get_attribute("href")), timeout=10).status_code == 200
    browser_page.screenshot("prompt")
    browser_page.assert_usable_at(1024, "prompt-1024")
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


def wait_for(url: str, prompt_id: str, done: Callable[[dict[str, Any]], bool]) -> None:
    def check() -> bool:
        response = httpx.get(
            f"{url}/api/prompts/{prompt_id}", headers={"X-API-Key": API_KEY}, timeout=5
        )
        return done(response.json())

    wait_until(check, 30, f"prompt {prompt_id}")


def reload_until(page: Page, region: str, text: str) -> None:
    def shows() -> bool:
        page.reload()
        return text in page.get_by_role("region", name=region).inner_text()

    wait_until(shows, 30, f"{region} showing {text}")


def test_dead_lettered_callbacks_are_redelivered_from_the_page_once_the_receiver_is_up(
    browser_page: BrowserPage, gateway: tuple[Deployment, str], services: Services
) -> None:
    _, url = gateway
    services.callbacks_up = False
    first, second = (
        create(url, content=f"call me back {n}", callback_url=services.http.url("/cb"))
        for n in (1, 2)
    )
    for prompt_id in (first, second):
        wait_for(
            url, prompt_id, lambda p: (p.get("delivery") or {}).get("state") == "dead_lettered"
        )
    services.callbacks_up = True
    page = browser_page.page
    sign_in_with_key(page, url)

    page.get_by_role("link", name="Dead letters").click()
    browser_page.screenshot("dead-letters")
    page.get_by_role("row").filter(has_text=first).get_by_role("button", name="Redeliver").click()
    expect(page.get_by_role("status")).to_contain_text(f"delivery:{first}: requeued")
    expect(page.get_by_role("status")).not_to_contain_text(second)
    page.get_by_label(f"Choose the callback of {second}").check()
    page.get_by_role("button", name="Requeue the chosen").click()
    expect(page.get_by_role("status")).to_contain_text(f"delivery:{second}: requeued")
    page.get_by_role("link", name=f"delivery:{second}").click()

    reload_until(page, "Callback delivery", "delivered")
    expect(page.get_by_role("region", name="Actions taken")).to_contain_text("apikey:ops")
    browser_page.screenshot("redelivered")
    wait_for(url, first, lambda p: p["status"] == "responded")
    page.get_by_role("link", name="Callers").click()
    expect(page.get_by_role("region", name="API keys configured")).to_contain_text("ops")
    browser_page.screenshot("callers")
    browser_page.assert_stayed_within(url)
    browser_page.assert_no_console_errors()


def test_a_prompt_faulted_by_a_provider_that_was_down_is_retried_from_the_page(
    browser_page: BrowserPage, gateway: tuple[Deployment, str], services: Services
) -> None:
    _, url = gateway
    answer = services.http.routes["/v1/chat/completions"]
    services.http.routes["/v1/chat/completions"] = lambda _: Reply(400, b'{"error": "down"}')
    prompt_id = create(url, content="retry me")
    wait_for(url, prompt_id, lambda p: p["status"] == "faulted")
    services.http.routes["/v1/chat/completions"] = answer
    page = browser_page.page
    sign_in_with_key(page, url)

    page.goto(f"{url}/console/prompts/{prompt_id}")
    expect(page.get_by_role("region", name="Fault")).to_be_visible()
    browser_page.screenshot("faulted")
    page.get_by_role("button", name="Retry from the failed step").click()

    expect(page.get_by_role("status")).to_contain_text("Done: retry")
    reload_until(page, "Answer", "openai says")
    expect(page.locator(".facts .status").first).to_have_text("completed")
    expect(page.get_by_role("region", name="Actions taken")).to_contain_text("retry")
    browser_page.screenshot("retried")
    browser_page.assert_stayed_within(url)
    browser_page.assert_no_console_errors()


def test_the_callers_page_reached_by_keyboard_shows_a_callers_limits_and_its_usage(
    browser_page: BrowserPage, gateway: tuple[Deployment, str]
) -> None:
    _, url = gateway
    prompt_id = create(url, content="count me")
    wait_for(url, prompt_id, lambda p: p["status"] == "completed")
    page = browser_page.page
    sign_in_with_key(page, url)

    page.keyboard.press("Tab")  # the keyboard alone: the skip link first, then the menu
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(4):
        page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Callers")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_title("Callers - AI Gateway console")
    keys = page.get_by_role("region", name="API keys configured")
    mosaic = keys.get_by_role("row").filter(has_text="apikey:mosaic")
    expect(mosaic).to_contain_text("100/minute creations")
    expect(mosaic).to_contain_text("50,000 tokens a day")
    expect(mosaic).to_contain_text("from CALLER_LIMITS")
    expect(mosaic).to_contain_text("1 of 100 creations")
    expect(mosaic).to_contain_text("7 of 50,000 tokens today")  # the provider's count
    expect(keys.get_by_role("row").filter(has_text="apikey:ops")).to_contain_text("none")
    browser_page.screenshot("callers-limits")
    browser_page.assert_usable_at(1024, "callers-limits-1024")
    browser_page.assert_stayed_within(url)
    browser_page.assert_no_console_errors()
