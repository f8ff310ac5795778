"""API-key authentication through the real app."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.api.conftest import MOSAIC_KEY, MOSAIC_NEXT_KEY
from tests.api.test_prompts_api import assert_problem

pytestmark = pytest.mark.integration

WRONG_KEY = "wrong-key-that-must-never-be-echoed"


async def test_a_request_without_credentials_is_401(client: httpx.AsyncClient) -> None:
    del client.headers["X-API-Key"]
    response = await client.post("/api/prompts/item", json={"content": "x"})
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "ApiKey"


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
