"""The admin API: an operator sees and acts on any caller's prompts; each action is kept in the
prompt's history with who took it. Real app, real Redis."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from redis.asyncio import Redis

from ai_gateway.domain.prompt import PromptStatus
from ai_gateway.domain.values import Fault
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from tests.api.conftest import MOSAIC_KEY, OPS_KEY, assert_problem
from tests.factories import walk

pytestmark = pytest.mark.integration

OPS = {"X-API-Key": OPS_KEY}
OWNER = {"X-API-Key": MOSAIC_KEY}


async def _created(ops_client: httpx.AsyncClient, **body: object) -> str:
    response = await ops_client.post("/api/prompts", json={"content": "x", **body}, headers=OWNER)
    prompt_id: str = response.json()["id"]
    return prompt_id


async def _faulted(
    ops_client: httpx.AsyncClient, redis_client: Redis, prefix: str, after: PromptStatus
) -> str:
    """A prompt that failed after reaching ``after``, put there directly; its jobs are done."""
    prompt_id = await _created(ops_client)
    keys = RedisKeys(prefix)
    await redis_client.delete(keys.jobs, keys.jobs_waiting(prompt_id))
    repo = RedisPromptRepository(redis_client, prefix=prefix)
    prompt = await repo.get(prompt_id)
    assert prompt is not None
    walk(prompt, after, prompt.created_at + timedelta(seconds=1))
    prompt.fail(Fault("genai_unavailable", "down"), prompt.created_at + timedelta(seconds=2))
    await repo.save(prompt)
    return prompt_id


async def _queued(redis_client: Redis, prefix: str, prompt_id: str) -> list[str]:
    entries = await redis_client.xrange(RedisKeys(prefix).jobs) or []
    steps = [dict(fields or {}) for _, fields in entries]
    return [str(f["step"]) for f in steps if f["prompt_id"] == prompt_id]


async def test_an_operator_cancels_another_callers_prompt_and_the_history_says_who(
    ops_client: httpx.AsyncClient,
) -> None:
    prompt_id = await _created(ops_client)

    cancelled = await ops_client.post(f"/api/admin/prompts/{prompt_id}/cancel", headers=OPS)
    seen_by_owner = (await ops_client.get(f"/api/prompts/{prompt_id}", headers=OWNER)).json()

    assert cancelled.status_code == 200
    assert seen_by_owner["status"] == "cancelled"
    [action] = seen_by_owner["history"]
    assert (action["name"], action["actor"]) == ("cancel", "apikey:ops")
    assert [s["status"] for s in seen_by_owner["timeline"]] == ["created", "cancelled"]


async def test_a_caller_without_the_admin_scope_is_refused_everywhere_in_the_admin_api(
    ops_client: httpx.AsyncClient,
) -> None:
    prompt_id = await _created(ops_client)

    for method, path in [
        ("GET", "/api/admin/prompts"),
        ("GET", f"/api/admin/prompts/{prompt_id}"),
        ("POST", f"/api/admin/prompts/{prompt_id}/cancel"),
        ("POST", f"/api/admin/prompts/{prompt_id}/redeliver"),
        ("POST", f"/api/admin/prompts/{prompt_id}/retry"),
    ]:
        assert_problem(await ops_client.request(method, path, headers=OWNER), 403, "forbidden")
    assert (await ops_client.get(f"/api/prompts/{prompt_id}", headers=OWNER)).json()["status"] == (
        "created"
    )


@pytest.mark.parametrize(
    ("after", "resumes", "step"),
    [
        (PromptStatus.PREPARING, "created", "prepare"),
        (PromptStatus.SUBMITTED, "prepared", "submit"),
    ],
)
async def test_a_faulted_prompt_is_retried_from_the_step_that_failed(
    ops_client: httpx.AsyncClient,
    redis_client: Redis,
    key_prefix: str,
    after: PromptStatus,
    resumes: str,
    step: str,
) -> None:
    prompt_id = await _faulted(ops_client, redis_client, key_prefix, after)

    retried = await ops_client.post(f"/api/admin/prompts/{prompt_id}/retry", headers=OPS)
    again = await ops_client.post(f"/api/admin/prompts/{prompt_id}/retry", headers=OPS)

    assert retried.status_code == 202
    body = retried.json()
    assert (body["status"], body["fault"]) == (resumes, None)
    assert [(a["name"], a["actor"]) for a in body["history"]] == [("retry", "apikey:ops")]
    assert body["timeline"][-1]["status"] == resumes
    assert await _queued(redis_client, key_prefix, prompt_id) == [step]
    assert_problem(again, 409, "invalid-transition")


async def test_an_unknown_prompt_is_404_for_every_action(ops_client: httpx.AsyncClient) -> None:
    for action in ("cancel", "redeliver", "retry"):
        missing = await ops_client.post(f"/api/admin/prompts/{'0' * 32}/{action}", headers=OPS)
        assert_problem(missing, 404, "not-found")


async def test_the_operator_lists_by_caller_status_and_creation_time(
    ops_client: httpx.AsyncClient,
) -> None:
    mine = await _created(ops_client)
    theirs = (await ops_client.post("/api/prompts", json={"content": "x"}, headers=OPS)).json()[
        "id"
    ]
    ours = (await ops_client.get(f"/api/prompts/{mine}", headers=OWNER)).json()

    by_caller = await ops_client.get("/api/admin/prompts?caller=apikey:mosaic", headers=OPS)
    everyone = await ops_client.get("/api/admin/prompts?status=created", headers=OPS)
    since = await ops_client.get(
        "/api/admin/prompts", params={"created_after": ours["created_at"]}, headers=OPS
    )
    until = await ops_client.get(
        "/api/admin/prompts", params={"created_before": ours["created_at"]}, headers=OPS
    )

    assert [p["id"] for p in by_caller.json()["items"]] == [mine]
    assert by_caller.json()["items"][0]["owner"] == "apikey:mosaic"
    assert {p["id"] for p in everyone.json()["items"]} == {mine, theirs}
    assert [p["id"] for p in since.json()["items"]] == [theirs, mine]
    assert until.json()["items"] == []


async def test_a_period_that_ends_before_it_begins_is_refused(
    ops_client: httpx.AsyncClient,
) -> None:
    refused = await ops_client.get(
        "/api/admin/prompts", params={"created_after": "2026-01-02T00:00:00Z",
                                      "created_before": "2026-01-01T00:00:00Z"}, headers=OPS,
    )  # fmt: skip
    assert_problem(refused, 422, "validation")
