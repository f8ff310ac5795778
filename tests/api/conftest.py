from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from ai_gateway.bootstrap import create_app
from ai_gateway.settings import Settings, parse_api_key
from tests.servers import RedisServer

MOSAIC_KEY = "mosaic-key-0123456789abcdef"
MOSAIC_NEXT_KEY = "mosaic-key-rotated-0123456789"
OTHER_KEY = "other-key-0123456789abcdef"


def make_settings(redis_url: str, prefix: str, **overrides: object) -> Settings:
    values: dict[str, Any] = {
        "redis_url": SecretStr(redis_url),
        "redis_key_prefix": prefix,
        "mosaic_api_keys": (
            parse_api_key(f"mosaic:{MOSAIC_KEY}"),
            parse_api_key(f"mosaic:{MOSAIC_NEXT_KEY}"),
            parse_api_key(f"other:{OTHER_KEY}"),
        ),
        "redis_timeout_seconds": 1.0,
        "genai_service_identities": frozenset({"client:genai-service"}),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client


@pytest.fixture
async def client(redis_server: RedisServer, key_prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(redis_server.url, key_prefix))
    async for c in client_for(app):
        c.headers["X-API-Key"] = MOSAIC_KEY
        yield c
