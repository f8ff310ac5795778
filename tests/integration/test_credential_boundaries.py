"""A credential the gateway adds never reaches another origin, nor a Mosaic path not configured
for its use: real servers redirect across origins and record every header they receive."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from ai_gateway.application.errors import PermanentFailure
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import PromptResponse
from ai_gateway.integration.data_source import GuardedDataSource
from ai_gateway.integration.mosaic_access import MosaicAccess
from ai_gateway.integration.outbound_client import outbound_client
from ai_gateway.integration.safe_http import EgressPolicy, SafeHttp
from ai_gateway.integration.webhook_sender import SignedWebhookSender
from tests.http_servers import RecordingServer, Reply, authorized, recording_server, redirect_to
from tests.idp_server import IdpServer

pytestmark = pytest.mark.integration

LOOPBACK = EgressPolicy(allow_networks=(ipaddress.ip_network("127.0.0.0/8"),))
DATA = "/api/genai/download/item/1/module/2"
CALLBACK = "/api/item/1/ai_response/r1"
ZIP = b"PK\x05\x06" + bytes(18)


@pytest.fixture
def mosaic() -> Iterator[RecordingServer]:
    with recording_server() as server:
        server.routes[DATA] = lambda _: Reply(body=ZIP)
        server.routes["/api/admin/export"] = lambda _: Reply(body=b"secrets")
        server.routes[CALLBACK] = lambda _: Reply(204)
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # The client would follow redirects: the adapters must refuse to, each call by itself.
    async with httpx.AsyncClient(timeout=5, follow_redirects=True) as client:
        yield client


@pytest.fixture
def access(http: httpx.AsyncClient, idp: IdpServer, mosaic: RecordingServer) -> MosaicAccess:
    tokens = idp.token_source(http, "mosaic", "api")
    return MosaicAccess(
        mosaic.url("/"),
        tokens,
        data_paths=["/api/genai/download/**"],
        callback_paths=["/api/item/*/ai_response/*"],
    )


async def test_a_mosaic_download_redirected_to_another_origin_arrives_there_without_the_token(
    http: httpx.AsyncClient,
    access: MosaicAccess,
    mosaic: RecordingServer,
    elsewhere: RecordingServer,
) -> None:
    mosaic.routes[DATA] = lambda _: redirect_to(elsewhere.url("/landing"))
    source = GuardedDataSource(SafeHttp(http, LOOPBACK), max_bytes=10_000, mosaic=access)

    fetched = await source.fetch(mosaic.url(DATA))

    assert fetched.content == b"landed"
    assert authorized(mosaic.hits_on(DATA)[0])
    assert not authorized(elsewhere.hits_on("/landing")[0])


async def test_a_redirect_into_a_mosaic_path_from_another_origin_gets_no_token(
    http: httpx.AsyncClient,
    access: MosaicAccess,
    mosaic: RecordingServer,
    elsewhere: RecordingServer,
) -> None:
    elsewhere.routes["/bounce"] = lambda _: redirect_to(mosaic.url(DATA), 307)
    source = GuardedDataSource(SafeHttp(http, LOOPBACK), max_bytes=10_000, mosaic=access)

    await source.fetch(elsewhere.url("/bounce"))

    assert not authorized(mosaic.hits_on(DATA)[0])


async def test_a_redirect_that_leaves_mosaic_and_comes_back_gets_no_token_again(
    http: httpx.AsyncClient,
    access: MosaicAccess,
    mosaic: RecordingServer,
    elsewhere: RecordingServer,
) -> None:
    start = "/api/genai/download/item/1/module/5"
    mosaic.routes[start] = lambda _: redirect_to(elsewhere.url("/bounce"))
    elsewhere.routes["/bounce"] = lambda _: redirect_to(mosaic.url(DATA), 307)
    source = GuardedDataSource(SafeHttp(http, LOOPBACK), max_bytes=10_000, mosaic=access)

    await source.fetch(mosaic.url(start))

    assert authorized(mosaic.hits_on(start)[0])
    assert not authorized(elsewhere.hits_on("/bounce")[0])
    assert not authorized(mosaic.hits_on(DATA)[0])


async def test_a_cookie_set_by_an_authenticated_mosaic_response_goes_nowhere_after(
    access: MosaicAccess, mosaic: RecordingServer
) -> None:
    cookie = {"Set-Cookie": "session=mosaic-admin; Path=/"}
    mosaic.routes[DATA] = lambda _: Reply(body=ZIP, headers=cookie)
    mosaic.routes["/api/admin/export"] = lambda _: Reply(body=b"secrets", headers=cookie)
    async with outbound_client(timeout=5) as http:
        source = GuardedDataSource(SafeHttp(http, LOOPBACK), max_bytes=10_000, mosaic=access)
        await source.fetch(mosaic.url(DATA))
        await source.fetch(mosaic.url("/api/admin/export"))
        await sender(http, access).send(answered(mosaic.url(CALLBACK)), "msg_0")

    assert len(mosaic.hits) == 3
    assert not any(name.lower() == "cookie" for hit in mosaic.hits for name in hit.headers)
    assert not http.cookies


async def test_a_same_origin_redirect_keeps_the_token_only_on_a_data_path(
    http: httpx.AsyncClient, access: MosaicAccess, mosaic: RecordingServer
) -> None:
    mosaic.routes["/api/genai/download/item/1/module/3"] = lambda _: redirect_to(DATA, 301)
    mosaic.routes["/api/genai/download/item/1/module/4"] = lambda _: redirect_to(
        "/api/admin/export"
    )
    source = GuardedDataSource(SafeHttp(http, LOOPBACK), max_bytes=10_000, mosaic=access)

    await source.fetch(mosaic.url("/api/genai/download/item/1/module/3"))
    await source.fetch(mosaic.url("/api/genai/download/item/1/module/4"))

    assert authorized(mosaic.hits_on(DATA)[0])
    assert not authorized(mosaic.hits_on("/api/admin/export")[0])


@pytest.mark.parametrize(
    "path",
    [
        "/api/admin/export",
        "/api/genai/download/../../admin/export",
        "/api/genai/download/%2e%2e/%2e%2e/admin/export",
        "/api/genai/download/x%2F..%2F..%2Fadmin",
        "/api/genai//download/item",
        "/api/genai/download/..;/..;/admin/export",
        "/api/genai/download/x\\..\\..\\admin",
        "/api/genai/download/..%3b/..%3b/admin/export",
        "/api/genai/download/%252e%252e/%252e%252e/admin/export",
        "/api/genai/download/item;jsessionid=1",
        "/api/genai/download/...",
        "/api/item/1/ai_response/r1",
    ],
)
async def test_a_caller_named_mosaic_url_outside_the_data_paths_gets_no_token(
    http: httpx.AsyncClient, access: MosaicAccess, mosaic: RecordingServer, path: str
) -> None:
    source = GuardedDataSource(SafeHttp(http, LOOPBACK), max_bytes=10_000, mosaic=access)

    with contextlib.suppress(PermanentFailure):  # whatever Mosaic answers without the token
        await source.fetch(mosaic.url(path))

    assert mosaic.hits
    assert not any(authorized(hit) for hit in mosaic.hits)


def answered(callback_url: str) -> Prompt:
    now = datetime.now(UTC)
    prompt = Prompt.create(owner="o", content="x", at=now, callback_url=callback_url)
    prompt.status = PromptStatus.SUBMITTED
    prompt.record_response(PromptResponse.of("answer", {}, now))
    return prompt


def sender(http: httpx.AsyncClient, access: MosaicAccess) -> SignedWebhookSender:
    return SignedWebhookSender(
        SafeHttp(http, LOOPBACK), default_secret="whsec_" + "a" * 44, secrets={}, source="/s",
        type_prefix="p", timeout_seconds=5, mosaic=access,
    )  # fmt: skip


async def test_a_callback_redirect_is_not_followed_and_the_token_stays_home(
    http: httpx.AsyncClient,
    access: MosaicAccess,
    mosaic: RecordingServer,
    elsewhere: RecordingServer,
) -> None:
    mosaic.routes[CALLBACK] = lambda _: redirect_to(elsewhere.url("/landing"), 307)

    outcome = await sender(http, access).send(answered(mosaic.url(CALLBACK)), "msg_1")

    assert not outcome.delivered
    assert outcome.status == "307"
    assert authorized(mosaic.hits_on(CALLBACK)[0])
    assert elsewhere.hits == []


async def test_a_callback_outside_the_mosaic_callback_paths_carries_no_token(
    http: httpx.AsyncClient, access: MosaicAccess, mosaic: RecordingServer
) -> None:
    mosaic.routes["/api/admin/hook"] = lambda _: Reply(204)

    await sender(http, access).send(answered(mosaic.url("/api/admin/hook")), "msg_2")
    await sender(http, access).send(answered(mosaic.url(DATA)), "msg_3")

    assert not any(authorized(hit) for hit in mosaic.hits)


async def test_the_mosaic_token_is_not_fetched_for_a_url_that_does_not_earn_it(
    http: httpx.AsyncClient, mosaic: RecordingServer
) -> None:
    class Counting:
        calls = 0

        async def token(self) -> str:
            self.calls += 1
            return "t"

        def invalidate(self) -> None:
            pass

    tokens = Counting()
    access = MosaicAccess(
        mosaic.url("/base"), tokens, data_paths=["/base/d/**"], callback_paths=["/base/c/*"]
    )

    outside = [
        await access.data_headers(httpx.URL(mosaic.url("/d/x"))),
        await access.data_headers(httpx.URL(mosaic.url("/base/c/x"))),
        await access.callback_headers(httpx.URL(mosaic.url("/base/c/x/y"))),
        await access.data_headers(httpx.URL(mosaic.url("/base/d/x").replace("http:", "https:"))),
    ]
    inside = [
        await access.data_headers(httpx.URL(mosaic.url("/base/d/x/y?z=1"))),
        await access.callback_headers(httpx.URL(mosaic.url("/base/c/x"))),
    ]

    assert outside == [{}, {}, {}, {}]
    assert inside == [{"Authorization": "Bearer t"}] * 2
    assert tokens.calls == 2
