"""/metrics: what the API's process counts, and who may read it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from ai_gateway.bootstrap import create_app
from tests.api.conftest import MOSAIC_KEY, OTHER_KEY, make_settings
from tests.metric_samples import samples, value
from tests.servers import RedisServer

TOKEN = "metrics-token-0123456789abcdef"


async def client_from(app: FastAPI, peer: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client


async def test_requests_are_counted_by_route_template_and_prompts_by_kind_and_caller(
    client: httpx.AsyncClient,
) -> None:
    before = (await client.get("/metrics")).text
    created = (await client.post("/api/prompts", json={"content": "x"})).json()
    await client.post(
        "/api/prompts",
        json={"content": "x", "kind": "self-chosen"},
        headers={"X-API-Key": OTHER_KEY},
    )
    await client.get(f"/api/prompts/{created['id']}")
    after = (await client.get("/metrics")).text

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    read = {"route": "/api/prompts/{prompt_id}", "method": "GET", "status": "2xx"}
    assert grew("ai_gateway_http_request_duration_seconds_count", **read) == 1
    assert grew("ai_gateway_prompts_created_total", kind="generic", caller="mosaic") == 1
    assert grew("ai_gateway_prompts_created_total", kind="other", caller="other") == 1
    assert value(after, "ai_gateway_dependency_up", dependency="redis") == 1
    assert value(after, "ai_gateway_jobs_queued") >= 1
    build = [labels for name, labels in samples(after) if name == "ai_gateway_build_info"]
    assert dict(build[0])["component"] == "api"
    assert created["id"] not in after
    assert "self-chosen" not in after


async def test_metrics_are_refused_off_loopback_when_no_token_is_set(
    redis_server: RedisServer, key_prefix: str
) -> None:
    app = create_app(make_settings(redis_server.url, key_prefix))
    async for outside in client_from(app, "10.1.2.3"):
        refused = await outside.get("/metrics")
        health = await outside.get("/api/app/health")

    assert refused.status_code == 403
    assert "ai_gateway" not in refused.text
    assert health.status_code == 200


async def test_with_a_token_set_every_reader_must_present_it(
    redis_server: RedisServer, key_prefix: str
) -> None:
    app = create_app(make_settings(redis_server.url, key_prefix, metrics_token=TOKEN))
    async for outside in client_from(app, "10.1.2.3"):
        bare = await outside.get("/metrics")
        wrong = await outside.get("/metrics", headers={"Authorization": f"Bearer {MOSAIC_KEY}"})
        right = await outside.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    async for local in client_from(app, "127.0.0.1"):
        local_bare = await local.get("/metrics")

    assert bare.status_code == wrong.status_code == local_bare.status_code == 401
    assert bare.headers["www-authenticate"] == "Bearer"
    assert right.status_code == 200
    assert "ai_gateway_http_request_duration_seconds" in right.text
