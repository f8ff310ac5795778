"""Signed callbacks against a real receiver that checks them as a client would."""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from standardwebhooks import Webhook, WebhookVerificationError

from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import Fault, PromptResponse
from ai_gateway.integration.safe_http import EgressPolicy, SafeHttp
from ai_gateway.integration.webhook_sender import SignedWebhookSender
from tests.factories import walk
from tests.http_servers import RecordingServer, Reply, recording_server

pytestmark = pytest.mark.integration

LOOPBACK = EgressPolicy(allow_networks=(ipaddress.ip_network("127.0.0.1/32"),))


def secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


DEFAULT, MOSAIC = secret(), secret()


@pytest.fixture
def receiver() -> Iterator[RecordingServer]:
    with recording_server() as s:
        s.routes["/cb"] = lambda _: Reply(204)
        yield s


@pytest.fixture
async def sender() -> AsyncIterator[SignedWebhookSender]:
    async with httpx.AsyncClient() as http:
        yield SignedWebhookSender(
            SafeHttp(http, LOOPBACK),
            default_secret=DEFAULT,
            secrets={"apikey:mosaic": MOSAIC},
            source="/ai-gateway/test",
            type_prefix="ai-gateway",
            timeout_seconds=5,
        )


def answered(owner: str, url: str) -> Prompt:
    now = datetime.now(UTC)
    prompt = Prompt.create(owner=owner, content="x", at=now, callback_url=url, request_id="r-9")
    walk(prompt, PromptStatus.SUBMITTED, now)
    prompt.record_response(PromptResponse.of("The answer.", {"tokens": 3}, now))
    return prompt


async def test_a_result_arrives_as_a_signed_cloudevent(
    sender: SignedWebhookSender, receiver: RecordingServer
) -> None:
    prompt = answered("apikey:mosaic", receiver.url("/cb"))

    outcome = await sender.send(prompt, f"msg_{prompt.id}")

    assert (outcome.delivered, outcome.status) == (True, "204")
    (hit,) = receiver.hits
    assert Webhook(MOSAIC).verify(hit.body, hit.headers) is not None
    with pytest.raises(WebhookVerificationError):
        Webhook(DEFAULT).verify(hit.body, hit.headers)  # signed with the owner's own secret
    event = ce_http.from_http(ce_http.HTTPMessage(headers=hit.headers, body=hit.body), JSONFormat())
    assert event.get_id() == hit.headers["webhook-id"] == f"msg_{prompt.id}"
    assert event.get_type() == "ai-gateway.prompt.response.v1"
    assert event.get_source() == "/ai-gateway/test"
    assert event.get_subject() == prompt.id
    data = event.get_data()
    assert isinstance(data, dict)
    assert data["response"]["content"] == "The answer."
    assert (data["status"], data["request_id"], data["fault"]) == ("completed", "r-9", None)


async def test_a_fault_is_sent_with_the_default_secret(
    sender: SignedWebhookSender, receiver: RecordingServer
) -> None:
    prompt = Prompt.create(
        owner="jwt:someone", content="x", at=datetime.now(UTC), callback_url=receiver.url("/cb")
    )
    prompt.fail(Fault("zip_bomb", "entry expands too much"), datetime.now(UTC))

    await sender.send(prompt, f"msg_{prompt.id}")

    (hit,) = receiver.hits
    payload = Webhook(DEFAULT).verify(hit.body, hit.headers)
    assert payload["type"] == "ai-gateway.prompt.faulted.v1"
    assert payload["data"]["fault"] == {"code": "zip_bomb", "detail": "entry expands too much"}


@pytest.mark.parametrize(
    ("reply", "delivered", "final", "retry_after"),
    [
        (Reply(410), False, True, None),
        (Reply(429, headers={"Retry-After": "30"}), False, False, 30.0),
        (Reply(500), False, False, None),
        (Reply(302, headers={"Location": "http://127.0.0.1:1/elsewhere"}), False, False, None),
    ],
)
async def test_the_receivers_answer_decides_what_happens_next(
    sender: SignedWebhookSender,
    receiver: RecordingServer,
    reply: Reply,
    delivered: bool,
    final: bool,
    retry_after: float | None,
) -> None:
    receiver.routes["/cb"] = lambda _: reply
    outcome = await sender.send(answered("apikey:x", receiver.url("/cb")), "msg_1")
    assert (outcome.delivered, outcome.final, outcome.retry_after) == (
        delivered,
        final,
        retry_after,
    )
    assert len(receiver.hits) == 1


async def test_a_refused_callback_url_is_final_and_never_contacted(
    receiver: RecordingServer,
) -> None:
    async with httpx.AsyncClient() as http:
        guarded = SignedWebhookSender(
            SafeHttp(http, EgressPolicy()),
            default_secret=DEFAULT,
            secrets={},
            source="/s",
            type_prefix="p",
            timeout_seconds=5,
        )
        outcome = await guarded.send(answered("apikey:x", receiver.url("/cb")), "msg_1")
    assert (outcome.delivered, outcome.final, outcome.status) == (False, True, "url_refused")
    assert receiver.hits == []


async def test_a_receiver_that_is_down_is_a_retry(
    sender: SignedWebhookSender, receiver: RecordingServer
) -> None:
    url = receiver.url("/cb")
    receiver.stop()
    outcome = await sender.send(answered("apikey:x", url), "msg_1")
    assert (outcome.delivered, outcome.final, outcome.status) == (False, False, "connection_failed")
