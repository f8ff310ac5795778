"""Liveness, readiness, info, and the catch-all error answer."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from ai_gateway import __version__
from ai_gateway.api.errors import install_error_handlers
from ai_gateway.bootstrap import create_app
from tests.api.conftest import MOSAIC_KEY, assert_problem, client_for, make_settings
from tests.servers import S3_ACCESS_KEY, S3_SECRET_KEY, RedisServer, SeaweedServer, free_port

pytestmark = pytest.mark.integration


async def test_health_needs_no_credentials_and_no_dependency(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/app/health", headers={"X-API-Key": ""})
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_ready_reports_redis(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/app/ready")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "checks": {"redis": True, "prompt_backlog": True},
        "backlog": {"prompts": 0, "max_prompts": 10_000, "refused": {}},
    }


async def test_info_reports_version_and_build(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/app/info")).json()
    assert body["version"] == __version__
    assert body["redis"] == "external"
    assert body["name"] == "ai-gateway"


async def test_with_redis_down_ready_is_503_and_prompt_calls_are_503_problems(
    tmp_path_factory: pytest.TempPathFactory, key_prefix: str
) -> None:
    server = RedisServer(tmp_path_factory.mktemp("redis-down"))
    server.start()
    try:
        app = create_app(make_settings(server.url, key_prefix))
        async for client in client_for(app):
            client.headers["X-API-Key"] = "mosaic-key-0123456789abcdef"
            created = await client.post("/api/prompts", json={"content": "before"})
            assert created.status_code == 201

            server.stop()
            ready = await client.get("/api/app/ready")
            assert ready.status_code == 503
            assert ready.json() == {
                "ready": False,
                "checks": {"redis": False, "prompt_backlog": False},
                "backlog": None,
            }
            failed = await client.post("/api/prompts", json={"content": "during"})
            assert_problem(failed, 503, "unavailable")
            assert failed.headers["retry-after"] == "5"
            assert "redis://" not in failed.text

            server.start()
            read = await client.get(created.headers["location"])
            assert read.status_code in {
                200,
                404,
            }  # this throwaway server keeps no data across restarts
            assert (await client.get("/api/app/ready")).status_code == 200
    finally:
        server.stop()


async def test_an_unreachable_redis_port_at_start_is_not_ready(key_prefix: str) -> None:
    app = create_app(make_settings(f"redis://127.0.0.1:{free_port()}/0", key_prefix))
    async for client in client_for(app):
        assert (await client.get("/api/app/ready")).status_code == 503


async def test_an_unexpected_error_is_a_logged_500_without_internals(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    async for client in client_for(app):
        response = await client.get("/boom")

    problem = assert_problem(response, 500, "internal")
    assert "hunter2" not in response.text
    assert problem["detail"] == "the gateway failed to handle this request"
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


def test_creating_the_app_without_redis_url_says_how_to_start(redis_server: RedisServer) -> None:
    settings = make_settings(redis_server.url, "x").model_copy(update={"redis_url": None})
    with pytest.raises(ValueError, match="ai-gateway serve"):
        create_app(settings)


async def test_readiness_includes_object_storage_which_prompt_intake_does_not_need(
    redis_server: RedisServer, key_prefix: str, s3_server: SeaweedServer
) -> None:
    s3 = {
        "s3_endpoint": f"http://{s3_server.endpoint}",
        "s3_access_key": S3_ACCESS_KEY,
        "s3_secret_key": SecretStr(S3_SECRET_KEY),
        "s3_bucket": f"r-{key_prefix}",
    }
    reachable = make_settings(redis_server.url, key_prefix, **s3)
    down = reachable.model_copy(update={"s3_endpoint": f"http://127.0.0.1:{free_port()}"})
    async for client in client_for(create_app(reachable)):
        ready = (await client.get("/api/app/ready")).json()
    async for client in client_for(create_app(down)):
        not_ready = await client.get("/api/app/ready")
        created = await client.post(
            "/api/prompts", json={"content": "x"}, headers={"X-API-Key": MOSAIC_KEY}
        )

    assert ready["ready"] is True
    assert ready["checks"] == {"redis": True, "prompt_backlog": True, "object_storage": True}
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"] == {
        "redis": True,
        "prompt_backlog": True,
        "object_storage": False,
    }
    assert created.status_code == 201


async def test_metrics_show_the_queue_and_the_event_backlog(client: httpx.AsyncClient) -> None:
    await client.post("/api/prompts", json={"content": "x"})
    response = await client.get("/metrics", headers={"X-API-Key": ""})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = dict(
        line.rsplit(" ", 1) for line in response.text.splitlines() if not line.startswith("#")
    )
    assert float(lines["ai_gateway_jobs_queued"]) == 1.0
    assert float(lines["ai_gateway_event_outbox_backlog"]) == 0.0
