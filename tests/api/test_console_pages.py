"""The console's pages as HTML: what they show, that a prompt's text stays text, and what they
say when there is nothing to show."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ai_gateway.api.console.pages import PAGE_SIZE
from tests.api.conftest import MOSAIC_KEY, OPS_KEY
from tests.api.test_console_access import hidden, sign_in

pytestmark = pytest.mark.integration

HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)">'


@pytest.fixture
async def browser(ops_client: httpx.AsyncClient) -> httpx.AsyncClient:
    await sign_in(ops_client, OPS_KEY)
    return ops_client


async def create(browser: httpx.AsyncClient, content: str, **fields: str) -> str:
    created = await browser.post(
        "/api/prompts", json={"content": content, **fields}, headers={"X-API-Key": MOSAIC_KEY}
    )
    assert created.status_code == 201, created.text
    prompt_id: str = created.json()["id"]
    return prompt_id


async def test_a_prompts_markup_is_shown_as_text(browser: httpx.AsyncClient) -> None:
    prompt_id = await create(browser, HOSTILE)

    page = await browser.get(f"/console/prompts/{prompt_id}")

    assert page.status_code == 200
    assert f"<title>Prompt {prompt_id} - AI Gateway console</title>" in page.text
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=" in page.text
    assert "created" in page.text
    assert "UTC" in page.text


async def test_prompts_are_listed_filtered_and_found_by_id(browser: httpx.AsyncClient) -> None:
    first = await create(browser, "first", request_id="req-console-1")
    second = await create(browser, "second", kind="summary")

    everything = await browser.get("/console/prompts")
    by_request = await browser.get("/console/prompts", params={"request_id": "req-console-1"})
    by_kind = await browser.get("/console/prompts", params={"kind": "summary"})
    found = await browser.get("/console/prompts", params={"find": second.upper()})
    none = await browser.get("/console/prompts", params={"status": "faulted"})
    mistyped = await browser.get("/console/prompts", params={"find": "nope"})

    assert first in everything.text
    assert second in everything.text
    assert first in by_request.text
    assert second not in by_request.text
    assert second in by_kind.text
    assert first not in by_kind.text
    assert found.status_code == 303
    assert found.headers["location"] == f"/console/prompts/{second}"
    assert "No prompt matches these filters" in none.text
    assert "ids are 32 hexadecimal digits" in mistyped.text


async def test_an_unknown_prompt_says_what_to_do(browser: httpx.AsyncClient) -> None:
    page = await browser.get(f"/console/prompts/{'0' * 32}")

    assert page.status_code == 404
    assert "Search the prompts" in page.text


async def test_the_overview_shows_readiness_and_refreshes_itself(
    browser: httpx.AsyncClient,
) -> None:
    prompt_id = await create(browser, "seen on the overview")

    page = await browser.get("/console/")

    assert 'hx-trigger="every 5s"' in page.text
    assert prompt_id in page.text
    assert "redis" in page.text


async def test_an_operator_cancels_any_callers_prompt_and_the_history_says_who(
    browser: httpx.AsyncClient,
) -> None:
    prompt_id = await create(browser, "to be cancelled")
    page = await browser.get(f"/console/prompts/{prompt_id}")
    csrf = hidden_csrf(page.text)

    without = await browser.post(f"/console/prompts/{prompt_id}/cancel", data={"x": "y"})
    cancelled = await browser.post(f"/console/prompts/{prompt_id}/cancel", data={"csrf": csrf})
    shown = await browser.get(cancelled.headers["location"])
    again = await browser.post(f"/console/prompts/{prompt_id}/cancel", data={"csrf": csrf})

    assert without.status_code == 403
    assert cancelled.status_code == 303
    assert "Done: cancel" in shown.text
    assert "apikey:ops" in shown.text
    assert "status-cancelled" in shown.text
    assert again.status_code == 409
    assert "Could not cancel" in again.text


async def test_the_dead_letters_and_callers_pages_say_what_there_is(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/console/dead-letters")
    csrf = hidden_csrf(page.text)
    nothing = await browser.post("/console/dead-letters/requeue", data={"csrf": csrf})
    callers = await browser.get("/console/callers")

    assert "No dead letters" in page.text
    assert "Nothing was chosen" in nothing.text
    assert "apikey:mosaic" in callers.text
    assert "apikey:ops" in callers.text


def hidden_csrf(html: str) -> str:
    return hidden(html, "csrf")


async def test_prompts_are_filtered_by_caller_and_period_and_paged_with_the_cursor(
    browser: httpx.AsyncClient,
) -> None:
    ids = [await create(browser, f"prompt {n}") for n in range(PAGE_SIZE + 1)]
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    first = await browser.get("/console/prompts", params={"caller": "apikey:mosaic"})
    older = re.search(r'<a rel="next" href="\?([^"]+)"', first.text)
    assert older is not None
    second = await browser.get(f"/console/prompts?{html.unescape(older[1])}")
    stranger = await browser.get("/console/prompts", params={"caller": "apikey:nobody"})
    before = await browser.get("/console/prompts", params={"created_before": later})
    after = await browser.get("/console/prompts", params={"created_after": later})
    wrong = await browser.get("/console/prompts", params={"created_after": "yesterday"})

    assert [i for i in ids if i in first.text] == ids[1:]  # newest first: the oldest is next
    assert [i for i in ids if i in second.text] == ids[:1]
    assert "Older prompts" not in second.text
    assert "No prompt matches these filters" in stranger.text
    assert all(i in before.text for i in ids[1:])
    assert "No prompt matches these filters" in after.text
    assert "These filters cannot be used" in wrong.text
