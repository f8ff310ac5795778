"""GenAI services and their token endpoints never take a redirect, so no key or token follows
one to another origin; the client given to them would follow, so each call refuses by itself."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from ai_gateway.application.errors import PermanentFailure
from ai_gateway.application.ports.genai import GenAiRequest
from ai_gateway.integration.genai.genai_api import GenAiApiProvider
from ai_gateway.integration.genai.openai_compatible import OpenAiCompatibleProvider
from ai_gateway.integration.oauth2_client_credentials import (
    ClientCredentialsTokenSource,
    TokenRequestRefused,
)
from tests.http_servers import RecordingServer, authorized, recording_server, redirect_to
from tests.idp_server import CLIENTS, IdpServer


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # The client would follow redirects: the adapters must refuse to, each call by itself.
    async with httpx.AsyncClient(timeout=5, follow_redirects=True) as client:
        yield client


REQUEST = GenAiRequest(prompt_id="a" * 32, kind="summary", prompt="p", context={})


async def test_an_openai_endpoint_that_redirects_never_sees_the_key_leave(
    http: httpx.AsyncClient, elsewhere: RecordingServer
) -> None:
    with recording_server() as provider_server:
        provider_server.routes["/v1/chat/completions"] = lambda _: redirect_to(
            elsewhere.url("/landing"), 307
        )
        provider = OpenAiCompatibleProvider(
            http, base_url=provider_server.url("/v1"), api_key="sk-secret", model="m"
        )

        with pytest.raises(PermanentFailure) as refused:
            await provider.submit(REQUEST)

    assert refused.value.code == "genai_redirected"
    assert elsewhere.hits == []


async def test_the_genai_api_and_its_token_endpoint_follow_no_redirect(
    http: httpx.AsyncClient, idp: IdpServer, elsewhere: RecordingServer
) -> None:
    good_tokens = idp.token_source(http, "genai-service")
    with recording_server() as service:
        service.routes["/prompts"] = lambda _: redirect_to(elsewhere.url("/landing"), 308)
        service.routes["/token"] = lambda _: redirect_to(elsewhere.url("/landing"), 307)
        provider = GenAiApiProvider(
            http,
            url=service.url("/prompts"),
            tokens=good_tokens,
            answer_url="http://gw/{prompt_id}",
        )
        with pytest.raises(PermanentFailure) as refused:
            await provider.submit(REQUEST)

        redirected_tokens = ClientCredentialsTokenSource(
            http, token_url=service.url("/token"), client_id="genai-service",
            client_secret=CLIENTS["genai-service"],
        )  # fmt: skip
        with pytest.raises(TokenRequestRefused):
            await redirected_tokens.token()

    assert refused.value.code == "genai_redirected"
    assert authorized(service.hits_on("/prompts")[0])
    assert elsewhere.hits == []
