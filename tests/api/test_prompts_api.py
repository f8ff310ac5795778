"""The prompt endpoints through the real ASGI app, DI container and a real Redis."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ai_gateway.bootstrap import create_app
from tests.api.conftest import (
    ITEM,
    MOSAIC_KEY,
    MOSAIC_NEXT_KEY,
    OTHER_KEY,
    assert_problem,
    client_for,
    make_settings,
)
from tests.servers import RedisServer

pytestmark = pytest.mark.integration


async def test_the_seeds_minimal_item_body_is_created(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/prompts/item", json={"content": "Generate a sample prompt"})

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "created"
    assert body["id"] == body["prompt_id"]
    assert response.headers["location"] == f"/api/prompts/{body['id']}"


async def test_an_item_prompt_with_the_original_fields_is_stored_and_read_back(
    client: httpx.AsyncClient,
) -> None:
    created = (await client.post("/api/prompts/item", json=ITEM)).json()

    response = await client.get(f"/api/prompts/{created['id']}")

    assert response.status_code == 200
    prompt = response.json()
    assert prompt["kind"] == "mosaic_item"
    assert prompt["owner"] == "apikey:mosaic"
    assert prompt["callback_url"] == ITEM["callbackUrl"]
    assert prompt["data_url"] == ITEM["itemUrl"]
    assert prompt["request_id"] == ITEM["requestId"]
    assert prompt["context"]["form_qualified_name"] == ITEM["formQualifiedName"]
    assert prompt["context"]["additional_context_input"] == "Focus on distractors."
    assert prompt["context"]["flags"] == {
        "improve_stem": True,
        "review_bp_mapping": False,
        "review_technical_accuracy": True,
        "improve_options": True,
        "suggest_alternate_options": False,
        "review_grammar": True,
    }
    assert set(prompt["timestamps"]) == {"created"}
    assert prompt["created_at"].endswith("Z") or "+00:00" in prompt["created_at"]
    assert prompt["response"] is None
    assert prompt["fault"] is None
    assert prompt["version"] == 1


async def test_item_fields_are_accepted_in_snake_case_too(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/prompts/item", json={"item_id": "abc", "review_grammar": False}
    )
    prompt = (await client.get(response.headers["location"])).json()
    assert prompt["context"]["item_id"] == "abc"
    assert prompt["context"]["flags"]["review_grammar"] is False


async def test_a_generic_prompt_is_created_listed_and_cancelled(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/prompts",
        json={
            "content": "Summarise",
            "kind": "summary",
            "metadata": {"lang": "en"},
            "request_id": "b1",
        },
    )
    assert created.status_code == 201
    prompt_id = created.json()["id"]

    listed = (await client.get("/api/prompts", params={"request_id": "b1"})).json()
    assert [p["id"] for p in listed["items"]] == [prompt_id]
    assert listed["items"][0]["kind"] == "summary"
    assert listed["next_cursor"] is None

    cancelled = await client.post(f"/api/prompts/{prompt_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert set(cancelled.json()["timestamps"]) == {"created", "cancelled"}

    again = await client.post(f"/api/prompts/{prompt_id}/cancel")
    assert_problem(again, 409, "invalid-transition")


async def test_listing_pages_with_a_cursor(client: httpx.AsyncClient) -> None:
    ids = [
        (await client.post("/api/prompts", json={"content": f"p{i}", "kind": "paged"})).json()["id"]
        for i in range(5)
    ]
    first = (await client.get("/api/prompts", params={"kind": "paged", "limit": 3})).json()
    second = (
        await client.get(
            "/api/prompts", params={"kind": "paged", "limit": 3, "cursor": first["next_cursor"]}
        )
    ).json()

    assert [p["id"] for p in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None


async def test_listing_by_status(client: httpx.AsyncClient) -> None:
    keep = (await client.post("/api/prompts", json={"content": "a"})).json()["id"]
    gone = (await client.post("/api/prompts", json={"content": "b"})).json()["id"]
    await client.post(f"/api/prompts/{gone}/cancel")

    created = (await client.get("/api/prompts", params={"status": "created"})).json()
    cancelled = (await client.get("/api/prompts", params={"status": "cancelled"})).json()

    assert [p["id"] for p in created["items"]] == [keep]
    assert [p["id"] for p in cancelled["items"]] == [gone]


async def test_another_callers_prompt_is_not_found(client: httpx.AsyncClient) -> None:
    prompt_id = (await client.post("/api/prompts", json={"content": "mine"})).json()["id"]
    other = {"X-API-Key": OTHER_KEY}

    assert_problem(await client.get(f"/api/prompts/{prompt_id}", headers=other), 404, "not-found")
    assert_problem(
        await client.post(f"/api/prompts/{prompt_id}/cancel", headers=other), 404, "not-found"
    )
    listed = (await client.get("/api/prompts", headers=other)).json()
    assert listed["items"] == []


async def test_a_rotated_key_with_the_same_name_is_the_same_caller(
    client: httpx.AsyncClient,
) -> None:
    prompt_id = (await client.post("/api/prompts", json={"content": "mine"})).json()["id"]
    response = await client.get(f"/api/prompts/{prompt_id}", headers={"X-API-Key": MOSAIC_NEXT_KEY})
    assert response.status_code == 200


async def test_an_unknown_prompt_is_a_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/prompts/" + "0" * 32), 404, "not-found")
    assert_problem(await client.get("/api/prompts/not-an-id"), 404, "not-found")


async def test_more_concurrent_requests_than_redis_connections_all_succeed(
    redis_server: RedisServer, key_prefix: str
) -> None:
    # Waiting for a connection is the point: on a busy machine one second is not enough for 60.
    settings = make_settings(
        redis_server.url, key_prefix, redis_max_connections=3, redis_timeout_seconds=10.0
    )
    app = create_app(settings)
    async for client in client_for(app):
        client.headers["X-API-Key"] = MOSAIC_KEY
        answers = await asyncio.gather(
            *(client.post("/api/prompts", json={"content": f"p{i}"}) for i in range(60))
        )
    assert [a.status_code for a in answers] == [201] * 60
