"""Each background step against real hostile servers: no job raises, every prompt settles.

The data host, the GenAI service, the token endpoint and the callback receiver are real HTTP
servers on loopback that stall, trickle, never stop sending, refuse connections, redirect in a
loop or answer absurd headers; the pipeline is the real one, on a real Redis.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from ai_gateway.application.commands.deliver_callback import LONGEST_RETRY_AFTER
from ai_gateway.application.ports.jobs import JobStep
from ai_gateway.domain.values import DeliveryState
from ai_gateway.integration.genai import http_errors
from ai_gateway.integration.genai.genai_api import GenAiApiProvider
from ai_gateway.integration.genai.openai_compatible import OpenAiCompatibleProvider
from ai_gateway.integration.local_object_store import LocalObjectStore
from tests.factories import zip_of
from tests.http_servers import RecordingServer, Reply, recording_server
from tests.idp_server import IdpServer
from tests.integration.hostile import (
    MAX_RETRY_WAIT,
    Gateway,
    fault_code,
    granted_tokens,
    refused_mosaic,
    refused_tokens,
)
from tests.servers import free_port

pytestmark = pytest.mark.integration

ABSURD_RETRY_AFTER = ["9" * 400, "-30", "NaN", "1e999", "\xb2", "Wed, 21 Oct 2015 07:28:00 GMT"]


@pytest.fixture
def peer() -> Iterator[RecordingServer]:
    with recording_server() as server:
        server.routes["/loop"] = lambda _: Reply(302, headers={"Location": "/loop"})
        server.routes["/stall"] = lambda _: Reply(body=b"late", stall_seconds=3)
        server.routes["/trickle"] = lambda _: Reply(endless=True, drip_seconds=0.3)
        server.routes["/flood"] = lambda _: Reply(endless=True, drip_seconds=0.001)
        server.routes["/bad-length"] = lambda _: Reply(headers={"Content-Length": "-1"})
        server.routes["/deep"] = lambda _: Reply(body=b"[" * 20_000 + b"]" * 20_000)
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=1.0) as client:
        yield client


@pytest.fixture
def build(
    redis_client: Redis, key_prefix: str, http: httpx.AsyncClient, tmp_path: Path
) -> Callable[..., Gateway]:
    """A gateway on local storage; keywords replace its provider, Mosaic set-up or attempts."""

    def make(**options: Any) -> Gateway:
        return Gateway(redis_client, key_prefix, http, LocalObjectStore(tmp_path), **options)

    return make


@pytest.fixture
def gateway(build: Callable[..., Gateway]) -> Gateway:
    return build()


def refused_url() -> str:
    return f"http://127.0.0.1:{free_port()}/nobody-listens"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/stall", "timeout"),
        ("/trickle", "timeout"),
        ("/flood", "data_too_large"),
        ("/loop", "too_many_redirects"),
        ("/bad-length", "connection_failed"),
        (None, "connection_failed"),
    ],
)
async def test_a_hostile_data_host_faults_the_prompt_with_its_code(
    gateway: Gateway, peer: RecordingServer, path: str | None, code: str
) -> None:
    prompt = await gateway.add(data_url=peer.url(path) if path else refused_url())
    assert fault_code(await gateway.run(JobStep.PREPARE, prompt)) == code


@pytest.mark.parametrize("retry_after", ABSURD_RETRY_AFTER)
async def test_an_absurd_retry_after_schedules_a_bounded_retry(
    build: Callable[..., Gateway], peer: RecordingServer, retry_after: str
) -> None:
    gateway = build(max_attempts=2)
    peer.routes["/busy"] = lambda _: Reply(503, headers={"Retry-After": retry_after})
    prompt = await gateway.add(data_url=peer.url("/busy"))

    await gateway.run(JobStep.PREPARE, prompt)

    ((job, delay),) = gateway.retries()
    assert (job.step, job.attempt) == (JobStep.PREPARE, 2)
    assert 0 < delay <= MAX_RETRY_WAIT
    assert fault_code(await gateway.run(JobStep.PREPARE, prompt, 2)) == "download_failed"


async def test_a_token_endpoint_that_refuses_faults_the_download(
    build: Callable[..., Gateway], http: httpx.AsyncClient, peer: RecordingServer, idp: IdpServer
) -> None:
    peer.routes["/mosaic/item.zip"] = lambda _: Reply(body=zip_of({"item.json": b"x"}))
    gateway = build(mosaic=refused_mosaic(peer.url("/mosaic"), http, idp))
    prompt = await gateway.add(data_url=peer.url("/mosaic/item.zip"))
    assert fault_code(await gateway.run(JobStep.PREPARE, prompt)) == "token_refused"
    assert peer.hits_on("/mosaic/item.zip") == []


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/stall", "genai_unavailable"),
        ("/trickle", "genai_unavailable"),
        ("/flood", "genai_invalid_answer"),
        ("/loop", "genai_redirected"),
        ("/bad-length", "genai_unavailable"),
        ("/deep", "genai_invalid_answer"),
        (None, "genai_unavailable"),
    ],
)
async def test_a_hostile_genai_service_faults_the_prompt_with_its_code(
    build: Callable[..., Gateway], http: httpx.AsyncClient, peer: RecordingServer,
    path: str | None, code: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(http_errors, "MAX_ANSWER_BYTES", 64 * 1024)
    for name in ("stall", "trickle", "flood", "loop", "bad-length", "deep"):
        peer.routes[f"/{name}/chat/completions"] = peer.routes[f"/{name}"]
    base = peer.url(path) if path else refused_url().removesuffix("/nobody-listens")
    gateway = build(provider=OpenAiCompatibleProvider(http, base_url=base, api_key=None, model="m"))
    prompt = await gateway.add()
    await gateway.run(JobStep.PREPARE, prompt)
    assert fault_code(await gateway.run(JobStep.SUBMIT, prompt)) == code


@pytest.mark.parametrize("retry_after", ABSURD_RETRY_AFTER)
async def test_a_genai_services_absurd_retry_after_schedules_a_bounded_retry(
    build: Callable[..., Gateway], http: httpx.AsyncClient, peer: RecordingServer, retry_after: str
) -> None:
    peer.routes["/busy/chat/completions"] = lambda _: Reply(
        429, headers={"Retry-After": retry_after}
    )
    provider = OpenAiCompatibleProvider(http, base_url=peer.url("/busy"), api_key=None, model="m")
    gateway = build(provider=provider, max_attempts=2)
    prompt = await gateway.add()
    await gateway.run(JobStep.PREPARE, prompt)

    await gateway.run(JobStep.SUBMIT, prompt)

    ((job, delay),) = gateway.retries()
    assert (job.step, job.attempt) == (JobStep.SUBMIT, 2)
    assert 0 < delay <= MAX_RETRY_WAIT
    assert fault_code(await gateway.run(JobStep.SUBMIT, prompt, 2)) == "genai_unavailable"


@pytest.mark.parametrize(
    "answer",
    [
        b"<html>busy</html>",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"model": NaN, "choices": [{"message": {"content": "fine"}}]}',
        b'{"usage": {"x": 1e999}, "choices": [{"message": {"content": "fine"}}]}',
        b'[{"choices": []}]',
    ],
    ids=["html", "nested", "nan", "overflow", "not-an-object"],
)
async def test_an_answer_that_is_not_json_faults_the_submission(
    build: Callable[..., Gateway], http: httpx.AsyncClient, peer: RecordingServer, answer: bytes
) -> None:
    peer.routes["/odd/chat/completions"] = lambda _: Reply(body=answer)
    provider = OpenAiCompatibleProvider(http, base_url=peer.url("/odd"), api_key=None, model="m")
    gateway = build(provider=provider)
    prompt = await gateway.add()
    await gateway.run(JobStep.PREPARE, prompt)
    assert fault_code(await gateway.run(JobStep.SUBMIT, prompt)) == "genai_invalid_answer"


async def test_a_refused_token_faults_the_submission(
    build: Callable[..., Gateway], http: httpx.AsyncClient, peer: RecordingServer, idp: IdpServer
) -> None:
    peer.routes["/genai"] = lambda _: Reply(202)
    gateway = build(provider=GenAiApiProvider(
        http, url=peer.url("/genai"), answer_url="http://127.0.0.1:1/{prompt_id}",
        tokens=refused_tokens(http, idp),
    ))  # fmt: skip
    prompt = await gateway.add()
    await gateway.run(JobStep.PREPARE, prompt)
    assert fault_code(await gateway.run(JobStep.SUBMIT, prompt)) == "token_refused"
    assert peer.hits_on("/genai") == []


async def test_a_nan_in_the_context_faults_the_submission(
    build: Callable[..., Gateway], http: httpx.AsyncClient, peer: RecordingServer, idp: IdpServer
) -> None:
    peer.routes["/genai"] = lambda _: Reply(202)
    gateway = build(provider=GenAiApiProvider(
        http, url=peer.url("/genai"), answer_url="http://127.0.0.1:1/{prompt_id}",
        tokens=granted_tokens(http, idp),
    ))  # fmt: skip
    prompt = await gateway.add(context={"score": math.nan, "rank": math.inf})
    await gateway.run(JobStep.PREPARE, prompt)
    assert fault_code(await gateway.run(JobStep.SUBMIT, prompt)) == "genai_invalid_request"
    assert peer.hits_on("/genai") == []


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/stall", "timeout"),
        ("/trickle", "timeout"),
        ("/loop", "302"),
        ("/bad-length", "connection_failed"),
        (None, "connection_failed"),
    ],
)
async def test_a_hostile_receiver_ends_the_delivery_dead_lettered(
    gateway: Gateway, peer: RecordingServer, path: str | None, status: str
) -> None:
    prompt = await gateway.completed(peer.url(path) if path else refused_url())

    await gateway.run(JobStep.DELIVER, prompt)
    retried = await gateway.run(JobStep.DELIVER, prompt, 2)
    settled = await gateway.run(JobStep.DELIVER, prompt, 3)

    assert retried.delivery is not None
    assert settled.delivery is not None
    assert (settled.delivery.state, settled.delivery.last_status) == (
        DeliveryState.DEAD_LETTERED, status,
    )  # fmt: skip
    assert [delay for _, delay in gateway.retries()] == pytest.approx([0.1, 0.1], rel=0.2)


@pytest.mark.parametrize("retry_after", ABSURD_RETRY_AFTER)
async def test_a_receivers_absurd_retry_after_is_bounded(
    gateway: Gateway, peer: RecordingServer, retry_after: str
) -> None:
    peer.routes["/busy"] = lambda _: Reply(503, headers={"Retry-After": retry_after})
    prompt = await gateway.completed(peer.url("/busy"))

    delivered = await gateway.run(JobStep.DELIVER, prompt)

    assert delivered.delivery is not None
    assert delivered.delivery.state is DeliveryState.PENDING
    ((_, delay),) = gateway.retries()
    assert 0 < delay <= LONGEST_RETRY_AFTER


async def test_a_callback_whose_token_is_refused_is_dead_lettered_at_once(
    build: Callable[..., Gateway], http: httpx.AsyncClient, peer: RecordingServer, idp: IdpServer
) -> None:
    peer.routes["/mosaic/cb"] = lambda _: Reply(204)
    gateway = build(mosaic=refused_mosaic(peer.url("/mosaic"), http, idp))
    prompt = await gateway.completed(peer.url("/mosaic/cb"))

    settled = await gateway.run(JobStep.DELIVER, prompt)

    assert settled.delivery is not None
    assert (settled.delivery.state, settled.delivery.last_status) == (
        DeliveryState.DEAD_LETTERED, "token_refused",
    )  # fmt: skip
    assert peer.hits_on("/mosaic/cb") == []
