"""Calls to the Mosaic API carry its OAuth2 client-credentials token; other calls carry none."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import PromptResponse
from ai_gateway.integration.data_source import GuardedDataSource
from ai_gateway.integration.mosaic_access import MosaicAccess
from ai_gateway.integration.oauth2_client_credentials import ClientCredentialsTokenSource
from ai_gateway.integration.safe_http import EgressPolicy, SafeHttp
from ai_gateway.integration.webhook_sender import SignedWebhookSender
from ai_gateway.settings import Settings
from tests.factories import walk
from tests.http_servers import RecordingServer, Reply, recording_server
from tests.idp_server import IdpServer, claims_of

pytestmark = pytest.mark.integration

LOOPBACK = EgressPolicy(allow_networks=(ipaddress.ip_network("127.0.0.0/8"),))


@pytest.fixture
def mosaic() -> Iterator[RecordingServer]:
    with recording_server() as server:
        server.routes["/api/genai/download/item/1/module/2"] = lambda _: Reply(
            body=b"PK\x05\x06" + bytes(18)
        )
        server.routes["/api/item/1/ai_response/r1"] = lambda _: Reply(204)
        yield server


@pytest.fixture
def elsewhere() -> Iterator[RecordingServer]:
    with recording_server("127.0.0.3") as server:
        server.routes["/data.zip"] = lambda _: Reply(body=b"data")
        yield server


def tokens(http: httpx.AsyncClient, idp: IdpServer) -> ClientCredentialsTokenSource:
    return idp.token_source(http, "mosaic", "api")


def access(http: httpx.AsyncClient, idp: IdpServer, mosaic: RecordingServer) -> MosaicAccess:
    """The seed's Mosaic paths, as configured by default."""
    defaults = Settings.model_fields
    return MosaicAccess(
        mosaic.url("/api"),
        tokens(http, idp),
        data_paths=defaults["mosaic_data_paths"].default,
        callback_paths=defaults["mosaic_callback_paths"].default,
    )


def bearer_client(hit_headers: dict[str, str]) -> str:
    token = hit_headers["Authorization"].removeprefix("Bearer ")
    return str(claims_of(token)["client_id"])


async def test_data_from_the_mosaic_api_is_fetched_with_its_token(
    http: httpx.AsyncClient, idp: IdpServer, mosaic: RecordingServer, elsewhere: RecordingServer
) -> None:
    source = GuardedDataSource(
        SafeHttp(http, LOOPBACK), max_bytes=10_000, mosaic=access(http, idp, mosaic)
    )

    await source.fetch(mosaic.url("/api/genai/download/item/1/module/2"))
    await source.fetch(elsewhere.url("/data.zip"))

    assert bearer_client(mosaic.hits[0].headers) == "mosaic"
    assert "Authorization" not in elsewhere.hits[0].headers


async def test_a_callback_to_the_mosaic_api_carries_its_token(
    http: httpx.AsyncClient, idp: IdpServer, mosaic: RecordingServer
) -> None:
    sender = SignedWebhookSender(
        SafeHttp(http, LOOPBACK), default_secret="whsec_" + "a" * 44, secrets={}, source="/s",
        type_prefix="p", timeout_seconds=5, mosaic=access(http, idp, mosaic),
    )  # fmt: skip
    now = datetime.now(UTC)
    prompt = Prompt.create(
        owner="o", content="x", at=now, callback_url=mosaic.url("/api/item/1/ai_response/r1")
    )
    walk(prompt, PromptStatus.SUBMITTED, now)
    prompt.record_response(PromptResponse.of("answer", {}, now))

    outcome = await sender.send(prompt, "msg_1")

    assert outcome.delivered
    assert bearer_client(mosaic.hits[0].headers) == "mosaic"
    assert mosaic.hits[0].headers["webhook-id"] == "msg_1"
