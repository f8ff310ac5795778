"""The outbound client-credentials token source against the real identity provider."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.integration.oauth2_client_credentials import (
    ClientCredentialsTokenSource,
    TokenRequestRefused,
)
from tests.factories import ManualClock
from tests.http_servers import Reply, recording_server
from tests.idp_server import AUDIENCE, CLIENTS, RESOURCE, IdpServer, claims_of
from tests.servers import LOOPBACK, free_port

pytestmark = pytest.mark.integration

SECRET = CLIENTS["genai-service"]


class CountingClient:
    """An httpx client that counts the token requests it sends."""

    def __init__(self) -> None:
        self.requests = 0

        async def count(_: httpx.Request) -> None:
            self.requests += 1

        self.http = httpx.AsyncClient(event_hooks={"request": [count]}, timeout=5)


@pytest.fixture
async def counting() -> AsyncIterator[CountingClient]:
    client = CountingClient()
    yield client
    await client.http.aclose()


def source(
    idp: IdpServer, http: httpx.AsyncClient, **kwargs: object
) -> ClientCredentialsTokenSource:
    options: dict[str, object] = {
        "token_url": idp.issuer + "/token",
        "client_id": "genai-service",
        "client_secret": SECRET,
        "scope": "internal",
        "parameters": {"resource": RESOURCE},
    }
    options.update(kwargs)
    return ClientCredentialsTokenSource(http, **options)  # type: ignore[arg-type]


async def test_a_token_is_fetched_once_and_reused(idp: IdpServer, counting: CountingClient) -> None:
    tokens = source(idp, counting.http)

    first = await tokens.token()
    second = await tokens.token()

    assert first == second
    assert counting.requests == 1
    claims = claims_of(first)
    assert (claims["aud"], claims["scope"], claims["client_id"]) == (
        AUDIENCE,
        "internal",
        "genai-service",
    )


async def test_concurrent_callers_share_one_token_request(
    idp: IdpServer, counting: CountingClient
) -> None:
    tokens = source(idp, counting.http)
    results = await asyncio.gather(*(tokens.token() for _ in range(20)))
    assert len(set(results)) == 1
    assert counting.requests == 1


async def test_a_token_is_renewed_shortly_before_it_expires(
    idp: IdpServer, counting: CountingClient
) -> None:
    clock = ManualClock()
    tokens = source(idp, counting.http, refresh_margin=30, clock=clock)
    first = await tokens.token()
    clock.now += idp.token_ttl - 31
    assert await tokens.token() == first
    clock.now += 2
    second = await tokens.token()
    assert second != first
    assert counting.requests == 2


async def test_an_invalidated_token_is_fetched_again(
    idp: IdpServer, counting: CountingClient
) -> None:
    tokens = source(idp, counting.http)
    await tokens.token()
    tokens.invalidate()
    await tokens.token()
    assert counting.requests == 2


async def test_a_wrong_secret_is_refused_without_leaking_it(
    idp: IdpServer, counting: CountingClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "definitely-wrong-secret-value"
    tokens = source(idp, counting.http, client_secret=secret)

    with pytest.raises(TokenRequestRefused) as refused:
        await tokens.token()

    assert refused.value.status == 401
    assert refused.value.error == "invalid_client"
    assert secret not in str(refused.value)
    assert secret not in repr(tokens)
    assert SECRET not in repr(source(idp, counting.http))
    assert all(secret not in r.getMessage() for r in caplog.records)


async def test_an_unreachable_token_endpoint_is_unavailable(counting: CountingClient) -> None:
    tokens = ClientCredentialsTokenSource(
        counting.http, token_url=f"http://{LOOPBACK}:{free_port()}/token",
        client_id="genai-service", client_secret=SECRET,
    )  # fmt: skip
    with pytest.raises(DependencyUnavailable):
        await tokens.token()


async def test_a_token_endpoint_answering_endless_nesting_is_a_refusal(
    counting: CountingClient,
) -> None:
    deep = b"[" * 20_000 + b"]" * 20_000  # past the parser's recursion limit
    with recording_server() as server:
        server.routes["/token"] = lambda _: Reply(
            body=deep, headers={"Content-Type": "application/json"}
        )
        tokens = ClientCredentialsTokenSource(
            counting.http, token_url=server.url("/token"), client_id="genai-service",
            client_secret=SECRET,
        )  # fmt: skip
        with pytest.raises(TokenRequestRefused) as refused:
            await tokens.token()
    assert (refused.value.status, refused.value.error) == (200, "no token")
