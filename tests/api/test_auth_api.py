"""API-key authentication through the real app."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from ai_gateway.bootstrap import create_app
from ai_gateway.settings import parse_api_key
from tests.api.conftest import (
    MOSAIC_KEY,
    MOSAIC_NEXT_KEY,
    OPS_KEY,
    assert_problem,
    client_for,
    make_settings,
)
from tests.servers import RedisServer

pytestmark = pytest.mark.integration

WRONG_KEY = "wrong-key-that-must-never-be-echoed"


async def test_a_request_without_credentials_is_401(client: httpx.AsyncClient) -> None:
    del client.headers["X-API-Key"]
    response = await client.post("/api/prompts/item", json={"content": "x"})
    assert_problem(response, 401, "unauthenticated")
    assert (
        response.headers["www-authenticate"]
        == 'Bearer realm="ai-gateway", ApiKey realm="ai-gateway"'
    )


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": WRONG_KEY}, {"Authorization": WRONG_KEY}],
)
async def test_a_wrong_key_is_401_and_never_echoed_or_logged(
    client: httpx.AsyncClient, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    del client.headers["X-API-Key"]
    caplog.set_level(logging.DEBUG)

    response = await client.post("/api/prompts/item", json={"content": "x"}, headers=headers)

    assert_problem(response, 401, "unauthenticated")
    assert WRONG_KEY not in response.text
    assert all(WRONG_KEY not in r.getMessage() for r in caplog.records)


async def test_the_original_samples_bare_key_in_authorization_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    del client.headers["X-API-Key"]
    response = await client.post(
        "/api/prompts/item", json={"content": "x"}, headers={"Authorization": MOSAIC_KEY}
    )
    assert response.status_code == 201
    prompt = (
        await client.get(response.headers["location"], headers={"Authorization": MOSAIC_KEY})
    ).json()
    assert prompt["owner"] == "apikey:mosaic"


async def test_both_keys_of_a_rotation_are_accepted(client: httpx.AsyncClient) -> None:
    for key in (MOSAIC_KEY, MOSAIC_NEXT_KEY):
        response = await client.post(
            "/api/prompts", json={"content": "x"}, headers={"X-API-Key": key}
        )
        assert response.status_code == 201


async def test_a_bearer_token_is_refused_while_no_jwt_authority_is_configured(
    client: httpx.AsyncClient,
) -> None:
    del client.headers["X-API-Key"]
    response = await client.get("/api/prompts", headers={"Authorization": "Bearer eyJhbGciOi.x.y"})
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_every_prompt_endpoint_requires_credentials(client: httpx.AsyncClient) -> None:
    del client.headers["X-API-Key"]
    calls = [
        client.post("/api/prompts", json={"content": "x"}),
        client.post("/api/prompts/item", json={}),
        client.get("/api/prompts"),
        client.get("/api/prompts/" + "0" * 32),
        client.post("/api/prompts/" + "0" * 32 + "/cancel"),
    ]
    for call in calls:
        assert (await call).status_code == 401


async def test_the_openapi_document_declares_both_key_schemes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": "A key from MOSAIC_API_KEYS.",
    }  # fmt: skip
    assert schemes["LegacyApiKey"]["name"] == "Authorization"
    assert {"ApiKey": []} in spec["paths"]["/api/prompts/item"]["post"]["security"]
    assert "Idempotency-Key" in [
        p["name"] for p in spec["paths"]["/api/prompts"]["post"]["parameters"]
    ]


async def test_api_key_scopes_decide_what_a_key_may_do(
    redis_server: RedisServer, key_prefix: str
) -> None:
    keys = (
        parse_api_key({"name": "ops", "key": OPS_KEY, "scopes": ["api", "admin"]}),
        parse_api_key({"name": "feed", "key": "feed-key-0123456789abcdef", "scopes": ["events"]}),
        parse_api_key(f"mosaic:{MOSAIC_KEY}"),
    )
    app = create_app(make_settings(redis_server.url, key_prefix, mosaic_api_keys=keys))
    async for client in client_for(app):
        mine = await client.post(
            "/api/prompts", json={"content": "x"}, headers={"X-API-Key": MOSAIC_KEY}
        )
        ops = await client.get(mine.headers["location"], headers={"X-API-Key": OPS_KEY})
        feed = await client.get("/api/prompts", headers={"X-API-Key": "feed-key-0123456789abcdef"})

    assert mine.status_code == 201
    assert ops.status_code == 200
    assert_problem(feed, 403, "forbidden")


async def test_without_a_jwt_authority_openapi_documents_only_api_keys(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert set(spec["components"]["securitySchemes"]) == {"ApiKey", "LegacyApiKey"}


async def test_swagger_offers_oauth2_login_without_any_client_secret(
    redis_server: RedisServer, key_prefix: str
) -> None:
    settings = make_settings(
        redis_server.url,
        key_prefix,
        jwt_authority="https://keycloak.example/realms/mozart",
        swagger_ui_client_id="ai-gateway-swagger",
    )
    app = create_app(settings)
    async for client in client_for(app):
        spec = (await client.get("/openapi.json")).json()
        page = (await client.get("/docs")).text

    schemes = spec["components"]["securitySchemes"]
    flows = schemes["OAuth2"]["flows"]
    token_url = "https://keycloak.example/realms/mozart/protocol/openid-connect/token"
    assert flows["clientCredentials"] == {
        "tokenUrl": token_url,
        "scopes": {
            "api": "the 'api' scope",
            "internal": "the 'internal' scope",
            "events": "the 'events' scope",
            "admin": "the 'admin' scope",
        },
    }
    assert flows["authorizationCode"]["authorizationUrl"] == (
        "https://keycloak.example/realms/mozart/protocol/openid-connect/auth"
    )
    assert schemes["BearerToken"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    security = spec["paths"]["/api/prompts/item"]["post"]["security"]
    assert {"OAuth2": ["api"]} in security
    assert {"ApiKey": []} in security
    assert '"clientId": "ai-gateway-swagger"' in page
    assert '"usePkceWithAuthorizationCodeGrant": true' in page
    assert "secret" not in page.lower()
    assert "secret" not in json.dumps(spec).lower()
