"""Bearer JWTs from a real OpenID Connect provider, through the real app."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from ai_gateway.bootstrap import create_app
from tests.api.conftest import client_for, make_settings
from tests.api.test_prompts_api import assert_problem
from tests.idp_server import IdpServer, SigningKey
from tests.servers import LOOPBACK, RedisServer, free_port
from tests.waiting import until

pytestmark = pytest.mark.integration


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


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assert_invalid_token(response: httpx.Response, detail: str) -> None:
    problem = assert_problem(response, 401, "unauthenticated")
    assert detail in problem["detail"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="ai-gateway", error="invalid_token"')


async def test_the_seeds_flow_works_with_a_client_credentials_token(
    jwt_client: httpx.AsyncClient, idp: IdpServer
) -> None:
    token = idp.token("gw-client", "api")

    created = await jwt_client.post(
        "/api/prompts/item", json={"content": "Generate a sample prompt"}, headers=bearer(token)
    )

    assert created.status_code == 201, created.text
    prompt = (await jwt_client.get(created.headers["location"], headers=bearer(token))).json()
    assert prompt["owner"] == "jwt:gw-client"


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
        ({"exp": int(time.time()) - 120}, (), "expired"),
        ({"nbf": int(time.time()) + 300}, (), "not valid yet"),
        ({"iat": int(time.time()) + 300}, (), "not valid yet"),
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
    response = await jwt_client.get("/api/prompts", headers=bearer(idp.mint(claims, drop=drop)))
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


class _KeySetServer(BaseHTTPRequestHandler):
    hits: list[str] = []
    body = b""

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def attacker_jwks() -> Iterator[tuple[str, SigningKey, list[str]]]:
    """A real HTTP server publishing an attacker's key set, which counts its visitors."""
    key = SigningKey("attacker")
    public = {
        k: v for k, v in key.private_jwk().items() if k in {"kty", "n", "e", "kid", "alg", "use"}
    }
    _KeySetServer.body = json.dumps({"keys": [public]}).encode()
    _KeySetServer.hits = []
    server = ThreadingHTTPServer((LOOPBACK, 0), _KeySetServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{server.server_address[1]}/jwks", key, _KeySetServer.hits
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize("kid", ["attacker", "key-1"])
async def test_jku_x5u_and_embedded_keys_are_ignored(
    jwt_client: httpx.AsyncClient,
    idp: IdpServer,
    attacker_jwks: tuple[str, SigningKey, list[str]],
    kid: str,
) -> None:
    url, key, hits = attacker_jwks
    public = {k: v for k, v in key.private_jwk().items() if k in {"kty", "n", "e"}}
    headers = {"jku": url, "x5u": url, "jwk": public, "kid": kid}
    token = idp.mint({"scope": "api admin"}, headers=headers, key=key)

    response = await jwt_client.get("/api/prompts", headers=bearer(token))

    assert response.status_code == 401
    assert hits == []


async def test_a_rotated_key_is_fetched_on_its_first_unknown_kid(
    redis_server: RedisServer, key_prefix: str, own_idp: IdpServer
) -> None:
    app = create_app(jwt_settings(redis_server, key_prefix, own_idp))
    async for client in client_for(app):
        assert (
            await client.get("/api/prompts", headers=bearer(own_idp.token()))
        ).status_code == 200
        old_token = own_idp.token()

        new_key = own_idp.rotate()
        new_token = own_idp.token()

        assert (
            json.loads(base64.urlsafe_b64decode(new_token.split(".")[0] + "=="))["kid"]
            == new_key.kid
        )
        assert (await client.get("/api/prompts", headers=bearer(new_token))).status_code == 200
        # the old key is no longer published: its tokens stop working once the set is refreshed
        assert (await client.get("/api/prompts", headers=bearer(old_token))).status_code == 401


async def served_after_a_failed_refresh(
    client: httpx.AsyncClient, token: str, caplog: pytest.LogCaptureFixture
) -> bool:
    assert (await client.get("/api/prompts", headers=bearer(token))).status_code == 200
    return "could not refresh the signing keys" in caplog.text


async def test_cached_keys_keep_serving_while_the_provider_is_down(
    redis_server: RedisServer, key_prefix: str, own_idp: IdpServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Keys this short-lived are past their maximum age on the next request, which refreshes them.
    settings = jwt_settings(redis_server, key_prefix, own_idp, jwks_max_age_seconds=0.001)
    app = create_app(settings)
    async for client in client_for(app):
        token = own_idp.token()
        assert (await client.get("/api/prompts", headers=bearer(token))).status_code == 200

        own_idp.stop()

        served = functools.partial(served_after_a_failed_refresh, client, token, caplog)
        await until(served, what="a failed refresh")
        forged = own_idp.mint(key=SigningKey("unknown"))
        assert (await client.get("/api/prompts", headers=bearer(forged))).status_code == 401


async def test_with_the_provider_down_and_no_cached_keys_a_token_is_503(
    redis_server: RedisServer, key_prefix: str, idp: IdpServer
) -> None:
    nobody = f"http://{LOOPBACK}:{free_port()}"  # where no provider answers
    settings = jwt_settings(
        redis_server, key_prefix, idp, jwt_authority=nobody, jwt_issuer=idp.issuer
    )
    token = idp.mint()
    app = create_app(settings)
    async for client in client_for(app):
        response = await client.get("/api/prompts", headers=bearer(token))
        problem = assert_problem(response, 503, "unavailable")
        assert "identity provider" in problem["detail"]
        # API keys do not depend on the provider
        api_key = {"X-API-Key": "mosaic-key-0123456789abcdef"}
        assert (await client.get("/api/prompts", headers=api_key)).status_code == 200


async def test_a_discovery_document_naming_another_issuer_is_not_trusted(
    redis_server: RedisServer, key_prefix: str, idp: IdpServer
) -> None:
    settings = jwt_settings(redis_server, key_prefix, idp, jwt_issuer="https://other.example")
    app = create_app(settings)
    async for client in client_for(app):
        token = idp.mint({"iss": "https://other.example"})
        assert_problem(await client.get("/api/prompts", headers=bearer(token)), 503, "unavailable")


async def test_a_garbage_bearer_token_is_401(jwt_client: httpx.AsyncClient) -> None:
    for token in ["garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30."]:
        assert_invalid_token(await jwt_client.get("/api/prompts", headers=bearer(token)), "")
