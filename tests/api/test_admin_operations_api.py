"""The admin API beyond single prompts: dead letters and their requeue, the overview and the
callers. Real app, real Redis."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from redis.asyncio import Redis

from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import Fault
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from tests.api.conftest import MOSAIC_KEY, OPS_KEY, assert_problem
from tests.factories import walk

pytestmark = pytest.mark.integration

OPS = {"X-API-Key": OPS_KEY}
OWNER = {"X-API-Key": MOSAIC_KEY}


@pytest.fixture
def repo(redis_client: Redis, key_prefix: str) -> RedisPromptRepository:
    return RedisPromptRepository(redis_client, prefix=key_prefix)


async def _stored(
    ops_client: httpx.AsyncClient, repo: RedisPromptRepository, **body: object
) -> Prompt:
    created = await ops_client.post("/api/prompts", json={"content": "x", **body}, headers=OWNER)
    prompt = await repo.get(created.json()["id"])
    assert prompt is not None
    return prompt


async def test_a_dead_lettered_callback_is_listed_and_delivered_again_on_request(
    ops_client: httpx.AsyncClient, repo: RedisPromptRepository
) -> None:
    prompt = await _stored(ops_client, repo, callback_url="https://mosaic.example/cb")
    walk(prompt, PromptStatus.COMPLETED, prompt.created_at + timedelta(seconds=1))
    assert prompt.give_up_delivery("503", prompt.created_at + timedelta(seconds=2))
    await repo.save(prompt)

    listed = (await ops_client.get("/api/admin/dead-letters", headers=OPS)).json()
    requeued = await ops_client.post(
        "/api/admin/dead-letters/requeue", json={"ids": [f"delivery:{prompt.id}"]}, headers=OPS
    )
    after = (await ops_client.get("/api/admin/dead-letters", headers=OPS)).json()
    seen = (await ops_client.get(f"/api/admin/prompts/{prompt.id}", headers=OPS)).json()

    [dead] = listed["deliveries"]
    assert (dead["id"], dead["last_status"], dead["state"]) == (
        f"delivery:{prompt.id}", "503", "dead_lettered"
    )  # fmt: skip
    assert requeued.json()["results"] == [
        {"id": f"delivery:{prompt.id}", "outcome": "requeued", "detail": None}
    ]
    assert after["deliveries"] == []
    assert seen["delivery"]["state"] == "pending"
    assert [a["status"] for a in seen["callback_attempts"]] == ["503"]
    assert [(a["name"], a["actor"]) for a in seen["history"]] == [("redeliver", "apikey:ops")]


async def test_a_dead_lettered_job_is_requeued_by_retrying_its_prompt(
    ops_client: httpx.AsyncClient, repo: RedisPromptRepository, redis_client: Redis, key_prefix: str
) -> None:
    prompt = await _stored(ops_client, repo)
    prompt.start_preparing(prompt.created_at + timedelta(seconds=1))
    prompt.fail(Fault("internal_error", "crashed every worker"), prompt.updated_at)
    await repo.save(prompt)
    keys = RedisKeys(key_prefix)
    await redis_client.delete(keys.jobs, keys.jobs_waiting(prompt.id))
    fields = {"step": "prepare", "prompt_id": prompt.id, "attempt": "1", "deliveries": "6"}
    entry = str(await redis_client.xadd(keys.jobs_dead, fields))  # type: ignore[arg-type]

    listed = (await ops_client.get("/api/admin/dead-letters", headers=OPS)).json()
    requeued = await ops_client.post(
        "/api/admin/dead-letters/requeue",
        json={"ids": [f"job:{entry}", "job:1-1", f"delivery:{'0' * 32}"]},
        headers=OPS,
    )
    seen = (await ops_client.get(f"/api/admin/prompts/{prompt.id}", headers=OPS)).json()

    [job] = listed["jobs"]
    assert (job["id"], job["step"], job["prompt_id"], job["deliveries"]) == (
        f"job:{entry}", "prepare", prompt.id, 6
    )  # fmt: skip
    outcomes = [(r["id"], r["outcome"]) for r in requeued.json()["results"]]
    missing = f"delivery:{'0' * 32}"
    assert outcomes == [
        (f"job:{entry}", "requeued"), ("job:1-1", "not_found"), (missing, "not_found")
    ]  # fmt: skip
    assert await redis_client.xlen(keys.jobs_dead) == 0
    assert (seen["status"], seen["fault"]) == ("created", None)
    assert [(a["name"], a["actor"]) for a in seen["history"]] == [("requeue", "apikey:ops")]


async def test_an_id_that_is_no_dead_letters_is_refused(ops_client: httpx.AsyncClient) -> None:
    for ids in (["job:not-an-id"], ["prompt:abc"], []):
        refused = await ops_client.post(
            "/api/admin/dead-letters/requeue", json={"ids": ids}, headers=OPS
        )
        assert refused.status_code == 422


async def test_the_overview_counts_prompts_answers_and_the_queue(
    ops_client: httpx.AsyncClient, repo: RedisPromptRepository
) -> None:
    answered = await _stored(ops_client, repo)
    await _stored(ops_client, repo)
    walk(answered, PromptStatus.COMPLETED, answered.created_at + timedelta(seconds=3))
    await repo.save(answered)

    overview = (await ops_client.get("/api/admin/overview", headers=OPS)).json()

    assert overview["prompts_last_hour"] == {"created": 2, "completed": 1}
    assert overview["prompts_last_day"] == {"created": 2, "completed": 1}
    assert len(overview["completions_per_minute"]) == 60
    assert sum(overview["completions_per_minute"]) == 1
    assert overview["creation_to_answer"] == {"p50_seconds": 3.0, "p95_seconds": 3.0, "sampled": 1}
    assert overview["queue"]["queued"] == 2
    assert overview["queue"]["lag_seconds"] >= 0
    assert (overview["dead_jobs"], overview["dead_deliveries"]) == (0, 0)
    assert overview["dependencies"]["redis"] is True


async def test_the_callers_are_the_keys_configured_and_the_callers_seen(
    ops_client: httpx.AsyncClient,
) -> None:
    await ops_client.get("/api/prompts", headers=OWNER)

    callers = await ops_client.get("/api/admin/callers", headers=OPS)

    body = callers.json()
    assert {(k["name"], tuple(k["scopes"])) for k in body["api_keys"]} == {
        ("mosaic", ("api",)), ("ops", ("admin", "api"))
    }  # fmt: skip
    assert [(c["owner"], c["method"]) for c in body["seen"]] == [
        ("apikey:ops", "apikey"), ("apikey:mosaic", "apikey")
    ]  # fmt: skip
    assert MOSAIC_KEY not in callers.text
    assert OPS_KEY not in callers.text


async def test_the_operations_refuse_a_caller_without_the_admin_scope(
    ops_client: httpx.AsyncClient,
) -> None:
    for method, path in [
        ("GET", "/api/admin/dead-letters"),
        ("POST", "/api/admin/dead-letters/requeue"),
        ("GET", "/api/admin/overview"),
        ("GET", "/api/admin/callers"),
    ]:
        refused = await ops_client.request(method, path, headers=OWNER, json={"ids": ["job:1-1"]})
        assert_problem(refused, 403, "forbidden")


async def test_every_action_the_console_takes_is_in_the_openapi_document(
    ops_client: httpx.AsyncClient,
) -> None:
    spec = (await ops_client.get("/openapi.json")).json()

    actions = {
        ("post", "/api/admin/prompts/{prompt_id}/cancel"),
        ("post", "/api/admin/prompts/{prompt_id}/redeliver"),
        ("post", "/api/admin/prompts/{prompt_id}/retry"),
        ("post", "/api/admin/dead-letters/requeue"),
        ("get", "/api/admin/callers"),
    }
    for method, path in actions:
        operation = spec["paths"][path][method]
        assert (operation["tags"], bool(operation["security"])) == (["Admin"], True), path
    schemas = spec["components"]["schemas"]
    assert {"caller", "limits", "limits_source", "usage"} <= set(
        schemas["ApiKeyBody"]["properties"]
    )
    assert set(schemas["CallerUsageBody"]["properties"]) == {
        "requests", "requests_reset_seconds", "in_flight", "tokens_today"
    }  # fmt: skip
