"""Tokens with malformed or hostile JOSE headers, from the real provider's key: 401, never 500."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ai_gateway.bootstrap import create_app
from tests.api.conftest import client_for, jwt_settings
from tests.api.jwt_helpers import assert_invalid_token, b64, bearer
from tests.idp_server import IdpServer
from tests.servers import RedisServer

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(
    redis_server: RedisServer, key_prefix: str, idp: IdpServer
) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(create_app(jwt_settings(redis_server, key_prefix, idp))):
        yield c


def with_header(token: str, header: Any) -> str:
    """``token`` with its header replaced (so its signature no longer matches)."""
    _, payload, signature = token.split(".")
    return f"{b64(json.dumps(header).encode())}.{payload}.{signature}"


def header_of(token: str) -> dict[str, Any]:
    part = token.split(".", 1)[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


REWRITTEN: dict[str, Any] = {
    "a number as kid": {"kid": 5},
    "a list as kid": {"kid": ["key-1"]},
    "an object as kid": {"kid": {"id": "key-1"}},
    "a list as alg": {"alg": ["RS256"]},
    "an object as alg": {"alg": {}},
    "null as alg": {"alg": None},
    "crit naming a claim": {"crit": ["exp"]},
    "crit that is not a list": {"crit": "exp"},
    "an empty crit": {"crit": []},
    "crit with b64": {"crit": ["b64"], "b64": False},
}


@pytest.mark.parametrize("change", REWRITTEN.values(), ids=REWRITTEN.keys())
async def test_a_malformed_header_is_401(
    client: httpx.AsyncClient, idp: IdpServer, change: dict[str, Any]
) -> None:
    token = idp.mint({"scope": "api admin"})
    forged = with_header(token, {**header_of(token), **change})

    response = await client.get("/api/prompts", headers=bearer(forged))

    assert_invalid_token(response, "")


@pytest.mark.parametrize("header", [["RS256"], "RS256", 5, None], ids=str)
async def test_a_header_that_is_not_an_object_is_401(
    client: httpx.AsyncClient, idp: IdpServer, header: Any
) -> None:
    forged = with_header(idp.mint(), header)

    assert_invalid_token(await client.get("/api/prompts", headers=bearer(forged)), "malformed")


async def test_a_validly_signed_token_that_demands_an_extension_is_401(
    client: httpx.AsyncClient, idp: IdpServer
) -> None:
    token = idp.mint({"scope": "api admin"}, headers={"crit": ["exp"]})

    response = await client.get("/api/prompts", headers=bearer(token))

    assert_invalid_token(response, "")
    assert (await client.get("/api/prompts", headers=bearer(idp.mint()))).status_code == 200
