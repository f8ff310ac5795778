"""The outbox (written with each state change) and its relay to a real HTTP sink."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Literal

import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from redis.asyncio import Redis

from ai_gateway.application.errors import ConcurrencyConflict, DependencyUnavailable
from ai_gateway.domain.prompt import Prompt
from ai_gateway.domain.values import Fault, PromptResponse
from ai_gateway.integration.event_relay import BATCH_CONTENT_TYPE, EventRelay, OutboxHealth
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from tests.http_servers import Hit, RecordingServer, Reply, recording_server
from tests.waiting import until

pytestmark = pytest.mark.integration

Mode = Literal["structured", "binary", "batched"]
STEPS = ("received", "preparing", "data.processed", "submitted", "response.received")


class Sink:
    def __init__(self, server: RecordingServer) -> None:
        self.server = server
        self.status = 202
        self.events: list[tuple[str, str, str]] = []
        server.routes["/events"] = self.receive

    def receive(self, hit: Hit) -> Reply:
        if self.status >= 300:
            return Reply(self.status)
        if hit.headers.get("Content-Type") == BATCH_CONTENT_TYPE:
            events = [JSONFormat().read(None, json.dumps(e)) for e in json.loads(hit.body)]
        else:
            message = ce_http.HTTPMessage(headers=hit.headers, body=hit.body)
            events = [ce_http.from_http(message, JSONFormat())]
        for event in events:
            self.events.append((event.get_subject() or "", event.get_type(), event.get_id()))
        return Reply(self.status)


@pytest.fixture
def sink() -> Iterator[Sink]:
    with recording_server() as server:
        yield Sink(server)


@pytest.fixture
def repo(redis_client: Redis, key_prefix: str) -> RedisPromptRepository:
    return RedisPromptRepository(
        redis_client, prefix=key_prefix, publish_events=True, outbox_bound=1000
    )


def relay(
    redis: Redis,
    prefix: str,
    sink: Sink,
    mode: Mode = "structured",
) -> EventRelay:
    return EventRelay(redis, prefix=prefix, sink=sink.server.url("/events"), source="/test",
                      type_prefix="ai-gateway", mode=mode, max_backoff=0.3)  # fmt: skip


async def stored(redis: Redis, prefix: str) -> list[str]:
    """The outbox's entries, oldest first."""
    return [
        str((fields or {}).get("e"))
        for _, fields in await redis.xrange(RedisKeys(prefix).outbox) or []
    ]


async def walk(repo: RedisPromptRepository) -> Prompt:
    """A prompt through every step to COMPLETED, one write per step."""
    now = datetime.now(UTC)
    prompt = Prompt.create(
        owner="apikey:mosaic", content="x", at=now, callback_url="https://x/cb?token=s3cret"
    )
    await repo.add(prompt)
    for step in (prompt.start_preparing, prompt.mark_prepared, prompt.mark_submitted):
        step(now)
        await repo.save(prompt)
    prompt.record_response(PromptResponse.of("answer text", {}, now))
    await repo.save(prompt)
    return prompt


def drained(redis: Redis, prefix: str) -> Callable[[], Awaitable[bool]]:
    """The outbox is empty: no relay has anything left to send."""

    async def check() -> bool:
        return await redis.xlen(RedisKeys(prefix).outbox) == 0

    return check


async def test_each_write_appends_its_events_and_a_lost_race_appends_none(
    repo: RedisPromptRepository, redis_client: Redis, key_prefix: str
) -> None:
    prompt = await walk(repo)
    stale = copy.deepcopy(prompt)
    stale.version -= 1
    stale.mark_responded(datetime.now(UTC))
    with pytest.raises(ConcurrencyConflict):
        await repo.save(stale)

    steps = [json.loads(raw)["step"] for raw in await stored(redis_client, key_prefix)]
    assert steps == list(STEPS)
    assert prompt.pull_events() == []


async def test_the_event_data_is_a_public_summary(
    repo: RedisPromptRepository, redis_client: Redis, key_prefix: str
) -> None:
    await walk(repo)
    raw = (await stored(redis_client, key_prefix))[-1]
    assert "s3cret" not in raw
    assert "answer text" not in raw
    assert '"sha256"' in raw


async def test_a_full_outbox_refuses_new_prompts_but_keeps_recording_progress(
    redis_client: Redis, key_prefix: str
) -> None:
    repo = RedisPromptRepository(
        redis_client, prefix=key_prefix, publish_events=True, outbox_bound=100
    )
    prompt = Prompt.create(owner="o", content="x", at=datetime.now(UTC))
    await repo.add(prompt)
    await redis_client.xadd(RedisKeys(key_prefix).outbox, {"e": "{}"})
    for _ in range(98):
        await redis_client.xadd(RedisKeys(key_prefix).outbox, {"e": "{}"})
    health = OutboxHealth(redis_client, key_prefix, 100)

    with pytest.raises(DependencyUnavailable, match="event outbox"):
        await repo.add(Prompt.create(owner="o", content="y", at=datetime.now(UTC)))
    prompt.fail(Fault("x", "y"), datetime.now(UTC))
    await repo.save(prompt)

    assert await health.backlog() == 101
    assert await health.check() is False


@pytest.mark.parametrize("mode", ["structured", "binary", "batched"])
async def test_the_relay_sends_every_event_in_order(
    repo: RedisPromptRepository,
    redis_client: Redis,
    key_prefix: str,
    sink: Sink,
    mode: Mode,
) -> None:
    # Walked side by side, the prompts' events interleave in the outbox as busy workers write them.
    prompts = await asyncio.gather(*(walk(repo) for _ in range(12)))
    stop = asyncio.Event()
    task = asyncio.create_task(relay(redis_client, key_prefix, sink, mode).run(stop))
    await until(lambda: len(sink.events) == 60)
    stop.set()
    await task

    for prompt in prompts:
        types = [t for subject, t, _ in sink.events if subject == prompt.id]
        assert types == [f"ai-gateway.prompt.{step}.v1" for step in STEPS]
    assert len({event_id for *_, event_id in sink.events}) == 60
    assert len(sink.server.hits) == (1 if mode == "batched" else 60)
    assert await redis_client.xlen(RedisKeys(key_prefix).outbox) == 0


async def test_nothing_is_lost_while_the_sink_is_down(
    repo: RedisPromptRepository,
    redis_client: Redis,
    key_prefix: str,
    sink: Sink,
) -> None:
    sink.status = 503
    prompt = await walk(repo)
    stop = asyncio.Event()
    task = asyncio.create_task(relay(redis_client, key_prefix, sink).run(stop))
    await until(lambda: len(sink.server.hits) >= 3)
    assert sink.events == []

    sink.status = 204
    await until(lambda: len(sink.events) == 5)
    stop.set()
    await task
    assert [s for s, *_ in sink.events] == [prompt.id] * 5
    assert sink.events[0][1] == "ai-gateway.prompt.received.v1"


async def test_an_event_the_sink_refuses_is_dead_lettered_visibly(
    repo: RedisPromptRepository,
    redis_client: Redis,
    key_prefix: str,
    sink: Sink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink.status = 400
    await repo.add(Prompt.create(owner="o", content="x", at=datetime.now(UTC)))
    stop = asyncio.Event()
    task = asyncio.create_task(relay(redis_client, key_prefix, sink).run(stop))
    await until(drained(redis_client, key_prefix))
    stop.set()
    await task
    assert len(sink.server.hits) == 1
    assert await redis_client.xlen(RedisKeys(key_prefix).outbox_dead) == 1
    assert any("refused event" in r.getMessage() for r in caplog.records)


async def test_only_one_relay_sends_at_a_time(
    repo: RedisPromptRepository,
    redis_client: Redis,
    key_prefix: str,
    sink: Sink,
) -> None:
    for _ in range(4):
        await walk(repo)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay(redis_client, key_prefix, sink).run(stop)) for _ in range(3)]
    await until(lambda: len(sink.events) == 20)
    await until(drained(redis_client, key_prefix))
    stop.set()
    await asyncio.gather(*tasks)
    assert len(sink.events) == 20
