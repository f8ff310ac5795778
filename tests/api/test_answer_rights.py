"""Only the GenAI service answers prompts, by the endpoint or by event; a scope alone is not
enough, and both ways have the same size limit. The real app, Redis and identity provider."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from redis.asyncio import Redis

from ai_gateway.application.ports.events import InboundEvent
from ai_gateway.integration.redis_event_inbox import RedisEventInbox
from tests.api.conftest import (
    MOSAIC_KEY,
    assert_problem,
    client_with_ops_key,
)
from tests.api.internal_helpers import submitted_prompt
from tests.idp_server import IdpServer
from tests.servers import RedisServer

pytestmark = pytest.mark.integration

FMT = JSONFormat()
ANSWER_TYPE = "ai-gateway.genai.prompt.response.v1"
INTERNAL_KEY = "internal-key-0123456789abcdef"
OWNER = {"X-API-Key": MOSAIC_KEY}


@pytest.fixture
async def client(
    redis_server: RedisServer, key_prefix: str, idp: IdpServer
) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_with_ops_key(
        redis_server, key_prefix, idp, INTERNAL_KEY, ["internal", "events"]
    ):
        yield c


def bearer(idp: IdpServer, client: str, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {idp.token(client, scope)}"}


async def status_of(client: httpx.AsyncClient, prompt_id: str) -> str:
    status: str = (await client.get(f"/api/prompts/{prompt_id}", headers=OWNER)).json()["status"]
    return status


async def test_the_internal_scope_alone_cannot_answer(
    client: httpx.AsyncClient, redis_client: Redis, key_prefix: str, idp: IdpServer
) -> None:
    prompt_id = await submitted_prompt(client, redis_client, key_prefix)
    url = f"/api/internal/prompts/{prompt_id}/response"

    other_client = await client.post(
        url, json={"content": "forged"}, headers=bearer(idp, "ai-gateway", "internal")
    )
    api_key = await client.post(
        url, json={"content": "forged"}, headers={"X-API-Key": INTERNAL_KEY}
    )
    assert await status_of(client, prompt_id) == "submitted"
    genai = await client.post(
        url, json={"content": "real"}, headers=bearer(idp, "genai-service", "internal")
    )

    assert_problem(other_client, 403, "forbidden")
    assert_problem(api_key, 403, "forbidden")
    assert genai.status_code == 200
    assert await status_of(client, prompt_id) == "completed"


async def test_the_events_scope_alone_cannot_answer_and_events_obey_the_size_limit(
    client: httpx.AsyncClient, redis_client: Redis, key_prefix: str, idp: IdpServer
) -> None:
    prompt_id = await submitted_prompt(client, redis_client, key_prefix)

    def answer(event_id: str, content: str) -> ce_http.HTTPMessage:
        attributes = {"type": ANSWER_TYPE, "source": "/genai", "id": event_id, "subject": prompt_id}
        event = CloudEvent(attributes=attributes, data={"content": content, "metadata": {}})
        return ce_http.to_structured(event, FMT)

    async def post(message: ce_http.HTTPMessage, headers: dict[str, str]) -> httpx.Response:
        return await client.post(
            "/api/events", content=message.body, headers={**message.headers, **headers}
        )

    forged = await post(answer("e1", "forged"), bearer(idp, "ai-gateway", "events"))
    by_key = await post(answer("e2", "forged"), {"X-API-Key": INTERNAL_KEY})
    too_long = await post(answer("e3", "x" * 1_000_001), bearer(idp, "genai-service", "events"))
    assert await status_of(client, prompt_id) == "submitted"
    real = await post(answer("e4", "real"), bearer(idp, "genai-service", "events"))

    assert [r.status_code for r in (forged, by_key, too_long, real)] == [202] * 4
    log = await redis_client.xrange(f"{key_prefix}:events:log") or []
    outcomes = {(f or {})["id"]: (f or {})["outcome"] for _, f in log}
    assert (
        outcomes["e1"]
        == outcomes["e2"]
        == f"refused: this sender may not send {ANSWER_TYPE} events"
    )
    assert str(outcomes["e3"]).startswith("refused: content: at most 1000000 characters")
    assert outcomes["e4"] == "handled"
    prompt = (await client.get(f"/api/prompts/{prompt_id}", headers=OWNER)).json()
    assert (prompt["status"], prompt["response"]["content"]) == ("completed", "real")


async def test_a_forged_answer_event_cannot_take_the_id_of_the_real_one(
    client: httpx.AsyncClient, redis_client: Redis, key_prefix: str, idp: IdpServer
) -> None:
    prompt_id = await submitted_prompt(client, redis_client, key_prefix)

    def answer(content: str) -> ce_http.HTTPMessage:
        attributes = {"type": ANSWER_TYPE, "source": "/genai", "id": "a1", "subject": prompt_id}
        event = CloudEvent(attributes=attributes, data={"content": content, "metadata": {}})
        return ce_http.to_structured(event, FMT)

    async def post(message: ce_http.HTTPMessage, headers: dict[str, str]) -> httpx.Response:
        return await client.post(
            "/api/events", content=message.body, headers={**message.headers, **headers}
        )

    forged = await post(answer("forged"), bearer(idp, "ai-gateway", "events"))
    real = await post(answer("real"), bearer(idp, "genai-service", "events"))

    assert forged.json()["accepted"] == 0
    assert (real.json()["accepted"], real.json()["duplicates"]) == (1, 0)
    prompt = (await client.get(f"/api/prompts/{prompt_id}", headers=OWNER)).json()
    assert (prompt["status"], prompt["response"]["content"]) == ("completed", "real")


async def test_an_event_keeps_its_sender_for_a_later_retry(
    redis_client: Redis, key_prefix: str
) -> None:
    inbox = RedisEventInbox(redis_client, prefix=key_prefix)
    sender = frozenset({"jwt:abc", "client:genai-service"})
    kept = InboundEvent("e1", "/genai", ANSWER_TYPE, "p1", None, {"content": "x"}, sender)

    assert await inbox.store(kept)
    (again,) = await inbox.unsettled(-1, 10)

    assert again == kept
