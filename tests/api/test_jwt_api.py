"""Bearer JWTs from a real OpenID Connect provider, through the real app: claims, scopes and
signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest

from tests.api.conftest import assert_problem
from tests.api.jwt_helpers import assert_invalid_token, b64, bearer
from tests.idp_server import IdpServer

pytestmark = pytest.mark.integration

TIME_CLAIMS = frozenset({"exp", "nbf", "iat"})


async def test_the_seeds_flow_works_with_a_client_credentials_token(
    jwt_client: httpx.AsyncClient, idp: IdpServer
) -> None:
    token = idp.token("ai-gateway", "api")

    created = await jwt_client.post(
        "/api/prompts/item", json={"content": "Generate a sample prompt"}, headers=bearer(token)
    )

    assert created.status_code == 201, created.text
    prompt = (await jwt_client.get(created.headers["location"], headers=bearer(token))).json()
    assert prompt["owner"] == "jwt:ai-gateway"


async def test_a_jwt_caller_and_an_api_key_caller_do_not_see_each_others_prompts(
    jwt_client: httpx.AsyncClient, idp: IdpServer
) -> None:
    location = (
        await jwt_client.post("/api/prompts", json={"content": "x"}, headers=bearer(idp.token()))
    ).headers["location"]
    other = {"X-API-Key": "other-key-0123456789abcdef"}
    assert (await jwt_client.get(location, headers=other)).status_code == 404


async def test_the_admin_scope_reads_every_callers_prompts(
    jwt_client: httpx.AsyncClient, idp: IdpServer
) -> None:
    location = (
        await jwt_client.post(
            "/api/prompts",
            json={"content": "x"},
            headers={"X-API-Key": "other-key-0123456789abcdef"},
        )
    ).headers["location"]

    plain = await jwt_client.get(location, headers=bearer(idp.token(scope="api")))
    admin = await jwt_client.get(location, headers=bearer(idp.token(scope="api admin")))

    assert plain.status_code == 404
    assert admin.status_code == 200
    assert admin.json()["owner"] == "apikey:other"


@pytest.mark.parametrize(
    ("claims", "drop", "detail"),
    [
        ({"exp": -120}, (), "expired"),
        ({"nbf": 300}, (), "not valid yet"),
        ({"iat": 300}, (), "not valid yet"),
        ({"aud": "another-api"}, (), "audience"),
        ({"iss": "http://127.0.0.1:1/evil"}, (), "issuer"),
        ({}, ("exp",), "exp claim"),
        ({}, ("aud",), "aud claim"),
        ({}, ("iss",), "iss claim"),
        ({}, ("sub",), "no subject"),
    ],
)
async def test_a_token_with_bad_claims_is_401(
    jwt_client: httpx.AsyncClient,
    idp: IdpServer,
    claims: dict[str, Any],
    drop: tuple[str, ...],
    detail: str,
) -> None:
    # Time claims are written as seconds from now and dated only when the token is minted: dated at
    # collection, a slow run would age a future nbf into a valid one.
    now = int(time.time())
    dated = {name: now + value if name in TIME_CLAIMS else value for name, value in claims.items()}
    response = await jwt_client.get("/api/prompts", headers=bearer(idp.mint(dated, drop=drop)))
    assert_invalid_token(response, detail)


async def test_a_token_within_the_leeway_is_accepted(
    jwt_client: httpx.AsyncClient, idp: IdpServer
) -> None:
    token = idp.mint({"exp": int(time.time()) - 10, "nbf": int(time.time()) + 10})
    assert (await jwt_client.get("/api/prompts", headers=bearer(token))).status_code == 200


@pytest.mark.parametrize(
    ("claims", "drop"), [({}, ("scope",)), ({"scope": "events internal"}, ()), ({"scope": ""}, ())]
)
async def test_a_token_without_the_prompt_scope_is_403(
    jwt_client: httpx.AsyncClient, idp: IdpServer, claims: dict[str, Any], drop: tuple[str, ...]
) -> None:
    response = await jwt_client.post(
        "/api/prompts", json={"content": "x"}, headers=bearer(idp.mint(claims, drop=drop))
    )
    assert_problem(response, 403, "forbidden")
    assert response.headers["www-authenticate"] == (
        'Bearer realm="ai-gateway", error="insufficient_scope", scope="api"'
    )


async def test_a_real_token_for_another_scope_is_403(
    jwt_client: httpx.AsyncClient, idp: IdpServer
) -> None:
    response = await jwt_client.get(
        "/api/prompts", headers=bearer(idp.token("genai-service", "internal"))
    )
    assert_problem(response, 403, "forbidden")


async def test_a_tampered_token_is_401(jwt_client: httpx.AsyncClient, idp: IdpServer) -> None:
    header, payload, signature = idp.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = b64(json.dumps({**claims, "scope": "api admin"}).encode())
    response = await jwt_client.get(
        "/api/prompts", headers=bearer(f"{header}.{forged}.{signature}")
    )
    assert_invalid_token(response, "signature")


async def test_alg_none_is_refused(jwt_client: httpx.AsyncClient, idp: IdpServer) -> None:
    _, payload, _ = idp.mint().split(".")
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": idp.signing_key.kid}).encode())
    response = await jwt_client.get("/api/prompts", headers=bearer(f"{header}.{payload}."))
    assert_invalid_token(response, "algorithm")


async def test_hs256_signed_with_the_providers_public_key_is_refused(
    jwt_client: httpx.AsyncClient, idp: IdpServer
) -> None:
    _, payload, _ = idp.mint().split(".")
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": idp.signing_key.kid}).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(idp.signing_key.public_pem(), signing_input, hashlib.sha256).digest()
    token = f"{header}.{payload}.{b64(signature)}"

    response = await jwt_client.get("/api/prompts", headers=bearer(token))

    assert_invalid_token(response, "algorithm")


async def test_a_garbage_bearer_token_is_401(jwt_client: httpx.AsyncClient) -> None:
    for token in ["garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30."]:
        assert_invalid_token(await jwt_client.get("/api/prompts", headers=bearer(token)), "")
