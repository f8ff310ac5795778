"""The GenAI service's answer endpoint and callback redelivery, through the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from ai_gateway.bootstrap import create_app
from tests.api.conftest import MOSAIC_KEY, OTHER_KEY, assert_problem, client_for, make_settings
from tests.api.internal_helpers import submitted_prompt
from tests.idp_server import IdpServer
from tests.servers import RedisServer

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(
    redis_server: RedisServer, key_prefix: str, idp: IdpServer
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(redis_server.url, key_prefix, jwt_authority=idp.issuer)
    async for c in client_for(create_app(settings)):
        yield c


async def test_the_genai_service_records_an_answer_once(
    client: httpx.AsyncClient, redis_client: Redis, key_prefix: str, idp: IdpServer
) -> None:
    prompt_id = await submitted_prompt(client, redis_client, key_prefix)
    token = {"Authorization": f"Bearer {idp.token('genai-service', 'internal')}"}
    answer = {
        "content": "The item is sound.",
        "metadata": {"model": "m1"},
        "usage": {"input_tokens": 30, "output_tokens": 5, "total_tokens": 35},
    }

    first = await client.post(
        f"/api/internal/prompts/{prompt_id}/response", json=answer, headers=token
    )
    again = await client.post(
        f"/api/internal/prompts/{prompt_id}/response", json=answer, headers=token
    )
    other = await client.post(
        f"/api/internal/prompts/{prompt_id}/response", json={"content": "Different."}, headers=token
    )
    unknown = await client.post(
        f"/api/internal/prompts/{'0' * 32}/response", json=answer, headers=token
    )

    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == "completed"
    assert first.json()["sha256"] == again.json()["sha256"]
    assert again.headers["idempotent-replayed"] == "true"
    assert_problem(other, 409, "conflict")
    assert_problem(unknown, 404, "not-found")
    prompt = (
        await client.get(f"/api/prompts/{prompt_id}", headers={"X-API-Key": MOSAIC_KEY})
    ).json()
    assert prompt["response"]["content"] == "The item is sound."
    assert prompt["usage"] == answer["usage"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"X-API-Key": MOSAIC_KEY}, 403)],
)
async def test_the_answer_endpoint_needs_the_internal_scope(
    client: httpx.AsyncClient, idp: IdpServer, headers: dict[str, str], status: int
) -> None:
    response = await client.post(
        f"/api/internal/prompts/{'0' * 32}/response", json={"content": "x"}, headers=headers
    )
    assert response.status_code == status
    token = {"Authorization": f"Bearer {idp.token('ai-gateway', 'api')}"}
    no_scope = await client.post(
        f"/api/internal/prompts/{'0' * 32}/response", json={"content": "x"}, headers=token
    )
    assert_problem(no_scope, 403, "forbidden")
    assert 'scope="internal"' in no_scope.headers["www-authenticate"]


async def test_redelivery_is_for_the_owner_of_a_settled_prompt_with_a_callback(
    client: httpx.AsyncClient, redis_client: Redis, key_prefix: str, idp: IdpServer
) -> None:
    prompt_id = await submitted_prompt(
        client, redis_client, key_prefix, callback_url="https://mosaic.example/cb"
    )
    mine, theirs = {"X-API-Key": MOSAIC_KEY}, {"X-API-Key": OTHER_KEY}
    early = await client.post(f"/api/prompts/{prompt_id}/callback/redeliver", headers=mine)
    token = {"Authorization": f"Bearer {idp.token('genai-service', 'internal')}"}
    await client.post(
        f"/api/internal/prompts/{prompt_id}/response", json={"content": "ok"}, headers=token
    )

    redelivered = await client.post(f"/api/prompts/{prompt_id}/callback/redeliver", headers=mine)
    foreign = await client.post(f"/api/prompts/{prompt_id}/callback/redeliver", headers=theirs)

    assert_problem(early, 422, "validation")
    assert redelivered.status_code == 202
    assert redelivered.json()["delivery"] == {
        "webhook_id": f"msg_{prompt_id}",
        "state": "pending",
        "attempts": 0,
        "last_status": None,
        "last_attempt_at": None,
        "next_attempt_at": None,
    }
    assert_problem(foreign, 404, "not-found")
