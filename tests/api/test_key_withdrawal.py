"""A signing key the real identity provider stops publishing is refused within JWKS_MAX_AGE_SECONDS,
and so is every token it signed that the gateway had already verified and remembered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from ai_gateway.bootstrap import create_app
from tests.api.conftest import assert_problem, client_for, make_settings
from tests.idp_server import IdpServer, SigningKey
from tests.servers import RedisServer

pytestmark = pytest.mark.integration

MAX_AGE = 1.0


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[IdpServer]:
    """A provider of its own: it publishes two keys, and this test withdraws one."""
    server = IdpServer(tmp_path)
    server.keys.append(SigningKey("key-2"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def client(
    redis_server: RedisServer, key_prefix: str, provider: IdpServer
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        redis_server.url,
        key_prefix,
        jwt_authority=provider.issuer,
        jwks_max_age_seconds=MAX_AGE,
        jwks_refresh_cooldown_seconds=0,
        jwt_cache_seconds=3600,  # longer than the key's life: the cache must not extend it
    )
    async for c in client_for(create_app(settings)):
        yield c


async def test_a_withdrawn_key_and_the_tokens_it_signed_are_refused_within_the_max_age(
    client: httpx.AsyncClient, provider: IdpServer
) -> None:
    kept, withdrawn = provider.keys
    old = {"Authorization": f"Bearer {provider.mint(key=withdrawn)}"}
    current = {"Authorization": f"Bearer {provider.mint(key=kept)}"}
    assert (await client.get("/api/prompts", headers=old)).status_code == 200
    assert (await client.get("/api/prompts", headers=current)).status_code == 200

    provider.stop()
    provider.keys = [kept]
    await asyncio.to_thread(provider.start)  # the same issuer, without key-2
    await asyncio.sleep(MAX_AGE + 0.2)  # the key set is due again
    refused = await client.get("/api/prompts", headers=old)

    problem = assert_problem(refused, 401, "unauthenticated")
    assert "does not publish" in problem["detail"]
    assert (await client.get("/api/prompts", headers=current)).status_code == 200
