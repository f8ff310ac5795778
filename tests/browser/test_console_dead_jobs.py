"""A job that dead-lettered for real (its worker died under it as often as the queue allows),
requeued by the operator from the dead letters page: its prompt then completes."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import BrowserPage
from tests.browser.test_console_pages import KEYS, create, reload_until, sign_in_with_key, wait_for
from tests.e2e.deployment import Deployment
from tests.e2e.outside_world import Services
from tests.waiting import wait_until


def test_a_dead_lettered_job_is_requeued_from_the_page_and_its_prompt_completes(
    browser_page: BrowserPage, deploy: Callable[..., Deployment], services: Services
) -> None:
    # One delivery only: the job's second worker buries it instead of running it again.
    deployment = deploy(
        MOSAIC_API_KEYS=KEYS, GENAI_PROVIDER="openai", JOB_MAX_DELIVERIES="1",
        JOB_CLAIM_IDLE_SECONDS="1", STUCK_AFTER_SECONDS="60",
    )  # fmt: skip
    url = deployment.api()
    deployment.worker()
    services.genai_delay = 60  # the provider holds the submission: the worker is killed in it
    prompt_id = create(url, content="lost with its worker")
    wait_until(lambda: bool(services.submissions), 30, "the submission reaching the provider")
    deployment.kill_and_replace_worker(0)
    wait_for(url, prompt_id, lambda p: p["status"] == "faulted")
    services.genai_delay = 0
    services.genai_hurry.set()
    page = browser_page.page
    sign_in_with_key(page, url)

    page.get_by_role("link", name="Dead letters").click()
    job_row = page.get_by_role("region", name="Jobs").get_by_role("row").filter(has_text=prompt_id)
    # the step that failed: the submission, though it ran under its preparation's entry (ADR 0032)
    expect(job_row).to_contain_text("submit")
    expect(job_row).not_to_contain_text("prepare")
    browser_page.screenshot("dead-job")
    browser_page.assert_usable_at(1024, "dead-job-1024")
    job_row.get_by_role("button", name="Requeue", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text("Requeued 1 of 1")
    expect(page.get_by_role("status")).to_contain_text(": requeued")
    expect(page.get_by_text("No dead letters")).to_be_visible()
    page.goto(f"{url}/console/prompts/{prompt_id}")
    reload_until(page, "Answer", "openai says: lost with its worker")
    expect(page.locator(".facts .status").first).to_have_text("completed")
    expect(page.get_by_role("region", name="Actions taken")).to_contain_text("requeue")
    browser_page.screenshot("dead-job-requeued")
    browser_page.assert_stayed_within(url)
    browser_page.assert_no_console_errors()
