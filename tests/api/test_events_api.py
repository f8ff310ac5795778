"""CloudEvents ingestion, with the official SDK as the client, through the real app."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from redis.asyncio import Redis

from ai_gateway.integration.redis_keys import RedisKeys
from tests.api.conftest import MOSAIC_KEY, assert_problem
from tests.api.internal_helpers import submitted_prompt
from tests.idp_server import IdpServer

pytestmark = pytest.mark.integration

FMT = JSONFormat()
ANSWER_TYPE = "ai-gateway.genai.prompt.response.v1"
STRUCTURED = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


def event(type_: str = "com.example.item.reviewed.v1", **attrs: Any) -> CloudEvent:
    data = attrs.pop("data", {"n": 1})
    return CloudEvent(attributes={"type": type_, "source": "/genai", **attrs}, data=data)


@pytest.fixture
def client(events_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The event tests speak as the GenAI service, with the events scope."""
    return events_client


async def post(client: httpx.AsyncClient, message: ce_http.HTTPMessage) -> httpx.Response:
    return await client.post("/api/events", content=message.body, headers=message.headers)


async def test_structured_binary_and_batch_events_are_accepted(client: httpx.AsyncClient) -> None:
    structured = await post(client, ce_http.to_structured(event(), FMT))
    binary = await post(client, ce_http.to_binary(event(), FMT))
    batch_body = b"[" + b",".join(FMT.write(event()) for _ in range(3)) + b"]"
    batch = await client.post(
        "/api/events",
        content=batch_body,
        headers={"Content-Type": "application/cloudevents-batch+json"},
    )

    assert [r.status_code for r in (structured, binary, batch)] == [202, 202, 202]
    assert structured.json() == {"accepted": 1, "duplicates": 0, "unknown": 1}
    assert binary.json()["accepted"] == 1
    assert batch.json()["accepted"] == 3


async def test_an_event_seen_before_is_not_handled_twice(client: httpx.AsyncClient) -> None:
    same = event(id="evt-1")
    first = await post(client, ce_http.to_structured(same, FMT))
    again = await post(client, ce_http.to_binary(same, FMT))
    other_source = await post(
        client, ce_http.to_structured(event(id="evt-1", source="/elsewhere"), FMT)
    )

    assert first.json()["accepted"] == 1
    assert again.json() == {"accepted": 0, "duplicates": 1, "unknown": 0}
    assert other_source.json()["accepted"] == 1


async def test_unknown_types_are_recorded_without_failing_the_batch(
    client: httpx.AsyncClient, redis_client: Redis, key_prefix: str
) -> None:
    body = (
        b"["
        + FMT.write(event("com.example.a.v1", id="a"))
        + b","
        + FMT.write(event("com.example.b.v1", id="b"))
        + b"]"
    )
    response = await client.post(
        "/api/events", content=body, headers={"Content-Type": "application/cloudevents-batch+json"}
    )

    assert response.json() == {"accepted": 2, "duplicates": 0, "unknown": 2}
    log = await redis_client.xrange(RedisKeys(key_prefix).events_log) or []
    assert [(f or {}).get("outcome") for _, f in log] == ["unknown type", "unknown type"]


@pytest.mark.parametrize(
    ("body", "headers", "detail"),
    [
        (b"{not json", STRUCTURED, "not valid JSON"),
        (json.dumps({"specversion": "1.0", "source": "/s", "type": "t"}).encode(),
         STRUCTURED, "missing required attributes: id"),
        (json.dumps({"specversion": "0.3", "id": "1", "source": "/s", "type": "t"}).encode(),
         STRUCTURED, "1.0"),
        (b"[]", BATCH, "non-empty"),
        (b'[{"id": "1"}]', BATCH, "missing required"),
        (b"{}", {"Content-Type": "application/json", "ce-specversion": "1.0", "ce-source": "/s",
                 "ce-type": "t"}, "missing required attributes: id"),
        (json.dumps(["x"]).encode(), BATCH, "JSON object"),
    ],
)  # fmt: skip
async def test_a_malformed_event_is_a_400_problem(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str], detail: str
) -> None:
    response = await client.post("/api/events", content=body, headers=headers)
    problem = assert_problem(response, 400, "malformed-event")
    assert detail in problem["detail"]


async def test_a_body_that_is_no_cloudevent_mode_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/events", json={"id": "1"})
    assert_problem(response, 415, "unsupported-media-type")


async def test_a_genai_answer_event_records_the_answer(
    client: httpx.AsyncClient, redis_client: Redis, key_prefix: str
) -> None:
    prompt_id = await submitted_prompt(client, redis_client, key_prefix)
    answer = event(
        ANSWER_TYPE, subject=prompt_id, data={"content": "The item is sound.", "metadata": {"m": 1}}
    )

    response = await post(client, ce_http.to_structured(answer, FMT))

    assert response.json() == {"accepted": 1, "duplicates": 0, "unknown": 0}
    as_owner = {"X-API-Key": MOSAIC_KEY, "Authorization": ""}
    prompt = (await client.get(f"/api/prompts/{prompt_id}", headers=as_owner)).json()
    assert (prompt["status"], prompt["response"]["content"]) == ("completed", "The item is sound.")


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Authorization": ""}, 401), ({"Authorization": "", "X-API-Key": MOSAIC_KEY}, 403)],
)
async def test_ingestion_needs_the_events_scope(
    client: httpx.AsyncClient, idp: IdpServer, headers: dict[str, str], status: int
) -> None:
    message = ce_http.to_structured(event(), FMT)
    response = await client.post(
        "/api/events", content=message.body, headers={**message.headers, **headers}
    )
    assert response.status_code == status
    prompts_token = {"Authorization": f"Bearer {idp.token('ai-gateway', 'api')}"}
    wrong_scope = await client.post(
        "/api/events", content=message.body, headers={**message.headers, **prompts_token}
    )
    assert_problem(wrong_scope, 403, "forbidden")


async def test_the_webhook_handshake_gives_consent(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/api/events", headers={"WebHook-Request-Origin": "genai.example.com"}
    )
    assert response.status_code == 200
    assert response.headers["webhook-allowed-origin"] == "genai.example.com"
    assert response.headers["webhook-allowed-rate"] == "120"


async def test_a_cloudevents_content_type_elsewhere_is_an_ordinary_request(
    client: httpx.AsyncClient,
) -> None:
    message = ce_http.to_structured(event(), FMT)
    anonymous = {**message.headers, "Authorization": ""}
    unauthenticated = await client.post("/api/prompts", content=message.body, headers=anonymous)
    keyed = {**anonymous, "X-API-Key": MOSAIC_KEY}
    with_key = await client.post("/api/prompts", content=message.body, headers=keyed)
    assert_problem(unauthenticated, 401, "unauthenticated")
    assert_problem(with_key, 422, "validation")
