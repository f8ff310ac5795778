"""Where the gateway gets the keys that check a bearer JWT: only the provider's key set, fetched
again for an unknown key, kept while the provider is down."""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from ai_gateway.bootstrap import create_app
from tests.api.conftest import assert_problem, client_for, jwt_settings
from tests.api.jwt_helpers import bearer
from tests.idp_server import IdpServer, SigningKey
from tests.servers import LOOPBACK, RedisServer, free_port
from tests.waiting import until

pytestmark = pytest.mark.integration


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
