"""The GenAI providers against real HTTP servers (and the real identity provider for OAuth2)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from ai_gateway.application.errors import PermanentFailure, TransientFailure
from ai_gateway.application.ports.genai import GenAiRequest
from ai_gateway.domain.values import TokenUsage
from ai_gateway.integration.genai.echo import EchoProvider
from ai_gateway.integration.genai.genai_api import GenAiApiProvider
from ai_gateway.integration.genai.openai_compatible import OpenAiCompatibleProvider
from tests.http_servers import RecordingServer, Reply, recording_server
from tests.idp_server import AUDIENCE, IdpServer, claims_of

pytestmark = pytest.mark.integration

REQUEST = GenAiRequest(
    prompt_id="a" * 32,
    kind="summary",
    prompt="Summarise this.",
    context={"k": 1},
    data_links=("https://s3/x",),
)
COMPLETION = {
    "id": "chatcmpl-1",
    "model": "gpt-test",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "A summary."}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
}


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with recording_server() as s:
        yield s


async def test_echo_answers_at_once_and_deterministically() -> None:
    first, second = await EchoProvider().submit(REQUEST), await EchoProvider().submit(REQUEST)
    assert first == second
    assert first.content == "[echo] Summarise this."
    assert first.metadata["provider"] == "echo"
    # one token per four characters begun: 15 characters asked, 22 answered
    assert first.usage == TokenUsage(input_tokens=4, output_tokens=6, total_tokens=10)


async def test_an_openai_compatible_answer_is_recorded_with_its_usage(
    http: httpx.AsyncClient, server: RecordingServer
) -> None:
    server.routes["/v1/chat/completions"] = lambda _: Reply(body=json.dumps(COMPLETION).encode())
    provider = OpenAiCompatibleProvider(
        http, base_url=server.url("/v1"), api_key="sk-test-key", model="gpt-test"
    )

    answer = await provider.submit(REQUEST)

    assert answer.content == "A summary."
    assert answer.metadata == {
        "provider": "openai",
        "model": "gpt-test",
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        "completion_id": "chatcmpl-1",
    }
    assert answer.usage == TokenUsage(input_tokens=12, output_tokens=3, total_tokens=15)
    (hit,) = server.hits
    assert hit.headers["Authorization"] == "Bearer sk-test-key"
    assert hit.headers["Idempotency-Key"] == "a" * 32
    sent = json.loads(hit.body)
    assert sent["model"] == "gpt-test"
    assert sent["messages"] == [{"role": "user", "content": "Summarise this."}]
    assert "sk-test-key" not in repr(provider)


@pytest.mark.parametrize(
    ("reply", "kind", "code"),
    [
        (Reply(429, b"{}", {"Retry-After": "3"}), TransientFailure, "genai_unavailable"),
        (Reply(503, b"{}"), TransientFailure, "genai_unavailable"),
        (Reply(400, b'{"error": "context too long"}'), PermanentFailure, "genai_rejected"),
        (Reply(200, b"not json"), PermanentFailure, "genai_invalid_answer"),
        (Reply(200, b'{"choices": []}'), PermanentFailure, "genai_invalid_answer"),
    ],
)
async def test_openai_failures_are_classified(
    http: httpx.AsyncClient, server: RecordingServer, reply: Reply, kind: type[Exception], code: str
) -> None:
    server.routes["/v1/chat/completions"] = lambda _: reply
    provider = OpenAiCompatibleProvider(http, base_url=server.url("/v1"), api_key=None, model="m")
    with pytest.raises(kind) as failed:
        await provider.submit(REQUEST)
    assert failed.value.code == code  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "3", "x-ratelimit-remaining-requests": "0"}, 3.0),
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1m30s"}, 90.0),
        ({"RateLimit": '"default";r=0;t=8'}, 8.0),
        ({}, None),
    ],
)
async def test_a_rate_limited_answer_says_how_long_to_wait(
    http: httpx.AsyncClient, server: RecordingServer, headers: dict[str, str], wait: float | None
) -> None:
    server.routes["/v1/chat/completions"] = lambda _: Reply(429, b"{}", headers)
    provider = OpenAiCompatibleProvider(http, base_url=server.url("/v1"), api_key=None, model="m")
    with pytest.raises(TransientFailure) as failed:
        await provider.submit(REQUEST)
    assert failed.value.retry_after == wait


async def test_an_openai_answer_that_stalls_past_the_timeout_is_unavailable(
    http: httpx.AsyncClient, server: RecordingServer
) -> None:
    http.timeout = httpx.Timeout(0.3)
    body = b"{}" + b" " * 2048  # more than one 1 KiB chunk, each after a pause
    server.routes["/v1/chat/completions"] = lambda _: Reply(200, body, drip_seconds=1)
    provider = OpenAiCompatibleProvider(http, base_url=server.url("/v1"), api_key=None, model="m")
    with pytest.raises(TransientFailure) as failed:
        await provider.submit(REQUEST)
    assert failed.value.code == "genai_unavailable"


async def test_the_genai_api_receives_the_prompt_with_an_oauth2_token(
    http: httpx.AsyncClient, server: RecordingServer, idp: IdpServer
) -> None:
    server.routes["/api/prompts"] = lambda _: Reply(202, b'{"accepted": true}')
    tokens = idp.token_source(http, "ai-gateway", "internal")
    provider = GenAiApiProvider(
        http, url=server.url("/api/prompts"), tokens=tokens,
        answer_url="https://gateway.example/api/internal/prompts/{prompt_id}/response",
    )  # fmt: skip

    assert await provider.submit(REQUEST) is None

    (hit,) = server.hits
    sent = json.loads(hit.body)
    assert sent == {
        "prompt_id": "a" * 32,
        "kind": "summary",
        "prompt": "Summarise this.",
        "context": {"k": 1},
        "data_links": ["https://s3/x"],
        "answer_url": f"https://gateway.example/api/internal/prompts/{'a' * 32}/response",
    }
    token = hit.headers["Authorization"].removeprefix("Bearer ")
    assert claims_of(token)["aud"] == AUDIENCE
    assert hit.headers["Idempotency-Key"] == "a" * 32


async def test_a_401_from_the_genai_api_drops_the_token_and_is_retried(
    http: httpx.AsyncClient, server: RecordingServer, idp: IdpServer
) -> None:
    server.routes["/api/prompts"] = lambda _: Reply(401, b"{}")
    tokens = idp.token_source(http, "ai-gateway")
    provider = GenAiApiProvider(
        http, url=server.url("/api/prompts"), tokens=tokens, answer_url="x/{prompt_id}"
    )
    with pytest.raises(TransientFailure):
        await provider.submit(REQUEST)
    with pytest.raises(TransientFailure):
        await provider.submit(REQUEST)
    first, second = (h.headers["Authorization"] for h in server.hits)
    assert first != second
