"""Commands reach a real Redis without a task each, and a write Redis does not take still fails
within the socket timeout, dropping the connection (ADR 0037)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Coroutine, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from ai_gateway.integration.redis_connection import RedisConnection, RedisPool
from tests.servers import RedisServer
from tests.waiting import until

pytestmark = pytest.mark.integration

TIMEOUT = 0.5
LARGER_THAN_ANY_SOCKET_BUFFER = 64 * 1024 * 1024


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own: one test stops it with SIGSTOP."""
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    yield redis
    redis.stop()


def connect(server: RedisServer) -> RedisConnection:
    return RedisConnection.by_url(
        server.url, RedisPool(max_connections=4, timeout=TIMEOUT, retry_seconds=1)
    )


async def test_commands_and_pipelines_are_written_without_a_task_each(server: RedisServer) -> None:
    connection = connect(server)
    loop = asyncio.get_running_loop()
    made: list[str] = []
    default = loop.get_task_factory()

    def counting(
        loop: asyncio.AbstractEventLoop,
        coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
    ) -> asyncio.Future[Any]:
        made.append(getattr(coro, "__qualname__", repr(coro)))
        if default is not None:
            return default(loop, coro)
        return asyncio.Task(coro, loop=loop)

    try:
        await connection.client.ping()  # the connection made before counting
        loop.set_task_factory(counting)
        for i in range(50):
            await connection.client.set(f"k{i}", "v")
        async with connection.client.pipeline(transaction=False) as pipe:
            pipe.get("k1")
            pipe.get("k2")
            assert await pipe.execute() == ["v", "v"]
        assert await connection.client.get("k49") == "v"
        # (redis-py's pipeline hands its connection back in a task of its own, once a pipeline)
        assert [name for name in made if "send" in name] == []
        assert made
    finally:
        loop.set_task_factory(default)
        await connection.aclose()


async def test_a_write_redis_does_not_take_fails_in_time_and_drops_the_connection(
    server: RedisServer,
) -> None:
    connection = connect(server)
    try:
        await connection.client.set("before", "1")
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGSTOP)  # connected, but reading nothing
        started = time.monotonic()
        try:
            with pytest.raises(RedisTimeoutError, match="Timeout writing to socket"):
                await connection.client.set("big", b"x" * LARGER_THAN_ANY_SOCKET_BUFFER)
            waited = time.monotonic() - started
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        assert TIMEOUT <= waited < TIMEOUT + 5
        pool = connection.client.connection_pool
        assert all(not c.is_connected for c in pool._available_connections)
        assert await connection.client.get("before") == "1"  # on a connection of its own

        # What the dropped connection's socket had taken still arrives, as with redis-py's own
        # send: a command that timed out may have run, which is why a timeout is not retried.
        async def flushed() -> bool:
            return await connection.client.exists("big") == 1

        await until(flushed, 10, "the flushed write")
    finally:
        await connection.aclose()
