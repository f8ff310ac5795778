"""A request's objects are freed by reference counting, none left in a cycle for the collector.

Under load the collector runs with requests in flight and promotes their objects to its oldest
generation; cycles among them then cost full collections of every object of the process (ADR 0030).
The requests are sent as uvicorn sends them, straight to the ASGI application, so that only the
gateway's own objects are counted.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.types import Message

from ai_gateway.bootstrap import create_app
from tests.api.conftest import MOSAIC_KEY, make_settings
from tests.servers import RedisServer

pytestmark = pytest.mark.integration

BODY = json.dumps({"content": "Review this item.", "kind": "generic"}).encode()


async def send(app: FastAPI, method: str, path: str, body: bytes = b"") -> dict[str, Any]:
    headers = [(b"x-api-key", MOSAIC_KEY.encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    answer: dict[str, Any] = {}

    async def receive() -> Message:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def respond(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = dict(message["headers"])

    await app(scope, receive, respond)
    return answer


async def test_creating_and_reading_a_prompt_leave_no_cycle(
    redis_server: RedisServer, key_prefix: str
) -> None:
    app = create_app(make_settings(redis_server.url, key_prefix))
    async with app.router.lifespan_context(app):
        created = await send(app, "POST", "/api/prompts", BODY)  # caches filled, connections made
        location = created["headers"][b"location"].decode()
        await send(app, "GET", location)
        gc.collect()
        gc.disable()
        try:
            assert (await send(app, "POST", "/api/prompts", BODY))["status"] == 201
            assert (await send(app, "GET", location))["status"] == 200
            assert gc.collect() == 0
        finally:
            gc.enable()


async def test_requests_refused_or_failed_leave_no_cycle(
    redis_server: RedisServer, key_prefix: str
) -> None:
    app = create_app(make_settings(redis_server.url, key_prefix))
    refused = [
        ("GET", "/api/prompts/p-unknown", b"", 404),
        ("POST", "/api/prompts", b'{"content": 1}', 422),
        ("POST", "/api/prompts", b'{"content": NaN}', 400),
        ("GET", "/api/admin/callers", b"", 403),
        ("GET", "/api/nowhere", b"", 404),
    ]
    async with app.router.lifespan_context(app):
        for method, path, body, _ in refused:
            await send(app, method, path, body)
        for method, path, body, status in refused:
            gc.collect()
            gc.disable()
            try:
                assert (await send(app, method, path, body))["status"] == status
                assert gc.collect() == 0, f"{method} {path}"
            finally:
                gc.enable()
