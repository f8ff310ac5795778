"""The composition root's seam: a provider passed as an override replaces an adapter everywhere."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from dishka import Provider, Scope, provide

from ai_gateway.application.ports.genai import GenAiAnswer, GenAiProvider
from ai_gateway.application.ports.operations import HealthProbe
from ai_gateway.bootstrap import create_app
from tests.api.conftest import MOSAIC_KEY, client_for, make_settings
from tests.fakes import FixedProbe, ScriptedProvider
from tests.servers import RedisServer

pytestmark = pytest.mark.integration


class FakeOutside(Provider):
    scope = Scope.APP

    def __init__(self, provider: ScriptedProvider) -> None:
        super().__init__()
        self.scripted = provider

    @provide
    def provider(self) -> GenAiProvider:
        return self.scripted


class ProbesDown(Provider):
    scope = Scope.APP

    @provide
    def probes(self) -> Sequence[HealthProbe]:
        return [FixedProbe("redis", up=False)]


async def test_an_overridden_genai_provider_answers_for_the_in_process_worker(
    redis_server: RedisServer, key_prefix: str
) -> None:
    scripted = ScriptedProvider(GenAiAnswer("from the override", {}))
    # The worker's blocking reads outlast the one-second timeout the API tests use.
    settings = make_settings(
        redis_server.url, key_prefix, serve_worker=True, redis_timeout_seconds=5.0
    )
    app = create_app(settings, overrides=[FakeOutside(scripted)])
    async for client in client_for(app):
        client.headers["X-API-Key"] = MOSAIC_KEY
        location = (await client.post("/api/prompts", json={"content": "hi"})).headers["location"]
        async with asyncio.timeout(10):
            while (prompt := (await client.get(location)).json())["status"] != "completed":
                await asyncio.sleep(0.05)

    assert prompt["response"]["content"] == "from the override"
    assert [r.prompt_id for r in scripted.requests] == [prompt["id"]]


async def test_overridden_probes_decide_readiness(
    redis_server: RedisServer, key_prefix: str
) -> None:
    app = create_app(make_settings(redis_server.url, key_prefix), overrides=[ProbesDown()])
    async for client in client_for(app):
        ready = await client.get("/api/app/ready")

    assert ready.status_code == 503
    assert ready.json()["ready"] is False
    assert ready.json()["checks"] == {"redis": False}
