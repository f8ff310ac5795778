from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from ai_gateway.bootstrap import create_app
from ai_gateway.settings import Settings, parse_api_key
from tests.idp_server import IdpServer
from tests.servers import RedisServer

MOSAIC_KEY = "mosaic-key-0123456789abcdef"
MOSAIC_NEXT_KEY = "mosaic-key-rotated-0123456789"
OTHER_KEY = "other-key-0123456789abcdef"
OPS_KEY = "ops-key-0123456789abcdef"

ITEM: dict[str, Any] = {
    "callbackUrl": "https://mosaic.example/api/item/64b7f0c2a1b2c3d4e5f60718/ai_response/r1",
    "requestId": "64b7f0c2a1b2c3d4e5f60719",
    "userId": "author-7",
    "formQualifiedName": "Exam CCIE TEST v1 DES 1.1",
    "formId": "64b7f0c2a1b2c3d4e5f6071a",
    "moduleId": "64b7f0c2a1b2c3d4e5f6071b",
    "itemId": "64b7f0c2a1b2c3d4e5f60718",
    "itemUrl": "https://mosaic.example/api/genai/download/item/1/module/2",
    "itemBp": "1.0 Blueprint Domain",
    "improveStem": True,
    "reviewBpMapping": False,
    "reviewTechnicalAccuracy": True,
    "improveOptions": True,
    "suggestAlternateOptions": False,
    "reviewGrammar": True,
    "additionalContextInput": "Focus on distractors.",
}


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


def jwt_settings(redis: RedisServer, prefix: str, idp: IdpServer, **overrides: Any) -> Any:
    return make_settings(
        redis.url,
        prefix,
        **{
            "jwt_authority": idp.issuer,
            "jwks_refresh_cooldown_seconds": 0,
            "jwt_cache_seconds": 0,  # every request goes through full verification
            **overrides,
        },
    )


async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client


async def client_with_ops_key(
    redis: RedisServer, prefix: str, idp: IdpServer, key: str, scopes: list[str]
) -> AsyncIterator[httpx.AsyncClient]:
    """An app that knows Mosaic's key and an ``ops`` key with ``scopes``, and trusts ``idp``."""
    keys = (
        parse_api_key(f"mosaic:{MOSAIC_KEY}"),
        parse_api_key({"name": "ops", "key": key, "scopes": scopes}),
    )
    settings = make_settings(redis.url, prefix, jwt_authority=idp.issuer, mosaic_api_keys=keys)
    async for client in client_for(create_app(settings)):
        yield client


@pytest.fixture
async def ops_client(
    redis_server: RedisServer, key_prefix: str, idp: IdpServer
) -> AsyncIterator[httpx.AsyncClient]:
    """An app that knows Mosaic's key and ``OPS_KEY`` with the admin scope; the client sends no
    credentials of its own, each request says who it is."""
    async for c in client_with_ops_key(redis_server, key_prefix, idp, OPS_KEY, ["api", "admin"]):
        yield c


@pytest.fixture
async def client(redis_server: RedisServer, key_prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(redis_server.url, key_prefix))
    async for c in client_for(app):
        c.headers["X-API-Key"] = MOSAIC_KEY
        yield c


@pytest.fixture
async def events_client(
    redis_server: RedisServer, key_prefix: str, idp: IdpServer
) -> AsyncIterator[httpx.AsyncClient]:
    """A client that speaks as the GenAI service, with the events scope."""
    app = create_app(make_settings(redis_server.url, key_prefix, jwt_authority=idp.issuer))
    async for c in client_for(app):
        c.headers["Authorization"] = f"Bearer {idp.token('genai-service', 'events')}"
        yield c


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:ai-gateway:problem:{kind}"
    assert body["title"]
    return body


@pytest.fixture
async def jwt_client(
    redis_server: RedisServer, key_prefix: str, idp: IdpServer
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(jwt_settings(redis_server, key_prefix, idp))
    async for client in client_for(app):
        yield client


@pytest.fixture
def own_idp(tmp_path: Path) -> Iterator[IdpServer]:
    """A provider of the test's own, free to rotate or stop."""
    server = IdpServer(tmp_path)
    server.start()
    yield server
    server.stop()
