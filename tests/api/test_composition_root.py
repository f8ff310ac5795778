"""The composition root: a provider passed as an override replaces an adapter everywhere, and the
API holds creations to a share only beside its in-process worker."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from dishka import Provider, Scope, provide
from fastapi import FastAPI

from ai_gateway.api.creation_share import CreationShare
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


def creations_at_once(app: FastAPI) -> int | None:
    """The share ``CreationShare`` holds creations to, or None when the app has none."""
    for middleware in app.user_middleware:
        factory: object = middleware.cls
        if factory is CreationShare:
            at_once = middleware.kwargs["at_once"]
            assert isinstance(at_once, int)
            return at_once
    return None


def test_only_an_api_beside_its_in_process_worker_holds_creations_to_a_share(
    redis_server: RedisServer, key_prefix: str
) -> None:
    beside = make_settings(
        redis_server.url, key_prefix, serve_worker=True, serve_creation_concurrency=3
    )
    unbounded = make_settings(
        redis_server.url, key_prefix, serve_worker=True, serve_creation_concurrency=0
    )
    alone = make_settings(redis_server.url, key_prefix, serve_creation_concurrency=3)

    assert creations_at_once(create_app(beside)) == 3
    assert creations_at_once(create_app(unbounded)) is None
    assert creations_at_once(create_app(alone)) is None
