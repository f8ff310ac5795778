"""The leader lock and the loops that lead with it, against a real Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest
from redis.asyncio import Redis

from ai_gateway.domain.prompt import Prompt
from ai_gateway.integration.event_relay import EventRelay
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.integration.redis_lock import LeaderLock, run_periodically
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from tests.factories import T0
from tests.http_servers import Hit, RecordingServer, Reply, recording_server

pytestmark = pytest.mark.integration

TTL = 0.3


async def until(predicate: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.02)


async def take_over(redis: Redis, name: str) -> str:
    """Another holder takes the lock, as it would once ours expired."""
    await redis.delete(name)
    await redis.set(name, "another holder", px=60_000)
    return "another holder"


async def test_one_holder_at_a_time(redis_client: Redis, key_prefix: str) -> None:
    name = RedisKeys(key_prefix).reconciler_lock
    first, second = LeaderLock(redis_client, name, ttl=TTL), LeaderLock(redis_client, name, ttl=TTL)

    assert await first.hold() is True
    assert await second.hold() is False
    await first.release()
    assert await second.hold() is True
    assert await first.hold() is False


async def test_a_holder_keeps_its_lock_by_renewing_it(redis_client: Redis, key_prefix: str) -> None:
    name = RedisKeys(key_prefix).reconciler_lock
    lock = LeaderLock(redis_client, name, ttl=TTL)
    other = LeaderLock(redis_client, name, ttl=TTL)

    assert await lock.hold()
    for _ in range(6):  # well past the TTL, renewed every third of it
        await asyncio.sleep(TTL / 3)
        assert await lock.hold()
    assert await other.hold() is False


async def test_a_lost_lock_is_never_renewed_or_released_over_its_new_holder(
    redis_client: Redis, key_prefix: str
) -> None:
    name = RedisKeys(key_prefix).relay_lock
    lock = LeaderLock(redis_client, name, ttl=TTL)
    assert await lock.hold()
    token = await take_over(redis_client, name)

    await asyncio.sleep(TTL / 3)
    assert await lock.hold() is False
    await lock.release()

    assert await redis_client.get(name) == token
    assert await redis_client.pttl(name) > 50_000


async def test_a_periodic_action_stops_when_its_lock_is_lost(
    redis_client: Redis, key_prefix: str
) -> None:
    name = RedisKeys(key_prefix).reconciler_lock
    calls: list[float] = []
    stop = asyncio.Event()

    async def action() -> None:
        calls.append(time.monotonic())

    task = asyncio.create_task(run_periodically(redis_client, name, 0.1, action, stop))
    await until(lambda: len(calls) >= 2)
    await take_over(redis_client, name)
    lost_at = time.monotonic()
    await asyncio.sleep(0.5)
    stop.set()
    await task

    assert [c for c in calls if c > lost_at + 0.15] == []
    assert await redis_client.get(name) == "another holder"


async def test_a_periodic_action_gives_its_lock_up_when_stopped(
    redis_client: Redis, key_prefix: str
) -> None:
    name = RedisKeys(key_prefix).reconciler_lock
    ran = asyncio.Event()
    stop = asyncio.Event()

    async def action() -> None:
        ran.set()

    task = asyncio.create_task(run_periodically(redis_client, name, 30, action, stop))
    await ran.wait()
    stop.set()
    await task

    assert await redis_client.exists(name) == 0


@pytest.fixture
def failing_sink() -> Iterator[RecordingServer]:
    with recording_server() as server:

        def unavailable(hit: Hit) -> Reply:
            return Reply(503)

        server.routes["/events"] = unavailable
        yield server


async def test_the_relay_stops_sending_when_its_lock_is_lost(
    redis_client: Redis, key_prefix: str, failing_sink: RecordingServer
) -> None:
    repo = RedisPromptRepository(redis_client, prefix=key_prefix, publish_events=True)
    await repo.add(Prompt.create(owner="o", content="x", at=T0))
    stop = asyncio.Event()
    relay = EventRelay(
        redis_client, prefix=key_prefix, sink=failing_sink.url("/events"), source="/test",
        type_prefix="ai-gateway", max_backoff=0.05, lock_seconds=TTL, timeout=1,
    )  # fmt: skip
    task = asyncio.create_task(relay.run(stop))
    await until(lambda: len(failing_sink.hits) >= 2)
    await take_over(redis_client, RedisKeys(key_prefix).relay_lock)
    await asyncio.sleep(TTL / 3 + 0.1)
    sent = len(failing_sink.hits)
    await asyncio.sleep(0.4)
    stop.set()
    await task

    assert len(failing_sink.hits) == sent
    assert await redis_client.get(RedisKeys(key_prefix).relay_lock) == "another holder"
