"""Commands reach a real Redis without a task each, and a write Redis does not take still fails
within the socket timeout, or when cancelled, dropping its connection (ADR 0037)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Coroutine, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from ai_gateway.integration.redis_connection import RedisConnection, RedisPool
from tests.servers import RedisServer
from tests.waiting import until

pytestmark = pytest.mark.integration

TIMEOUT = 0.5


def larger_than_the_socket_buffers() -> int:
    """Bytes that cannot all wait in the kernel for a server that reads nothing: twice what
    the largest send and receive buffers of this host hold together."""
    largest = sum(
        int(Path(f"/proc/sys/net/ipv4/{name}").read_text().split()[-1])
        for name in ("tcp_rmem", "tcp_wmem")
    )
    return 2 * largest


def connect(server: RedisServer, timeout: float = TIMEOUT) -> RedisConnection:
    return RedisConnection.by_url(
        server.url, RedisPool(max_connections=4, timeout=timeout, retry_seconds=1)
    )


async def holds(client: Redis, key: str) -> bool:
    return await client.exists(key) == 1


@contextmanager
def stopped(server: RedisServer) -> Iterator[None]:
    """Connected, but reading nothing."""
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


async def test_commands_are_written_without_a_task_each(own_redis: RedisServer) -> None:
    connection = connect(own_redis)
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
        assert await connection.client.get("k49") == "v"
        assert made == []
    finally:
        loop.set_task_factory(default)
        await connection.aclose()


async def test_a_write_redis_does_not_take_fails_in_time_and_drops_the_connection(
    own_redis: RedisServer,
) -> None:
    connection = connect(own_redis)
    patient = Redis.from_url(own_redis.url, decode_responses=True)  # for the checks afterwards
    try:
        await connection.client.set("before", "1")
        with stopped(own_redis):
            started = time.monotonic()
            with pytest.raises(RedisTimeoutError, match="Timeout writing to socket"):
                await connection.client.set("big", b"x" * larger_than_the_socket_buffers())
            waited = time.monotonic() - started
        assert TIMEOUT <= waited < TIMEOUT + 5
        pool = connection.client.connection_pool
        assert all(not c.is_connected for c in pool._available_connections)
        # What the dropped connection's socket had taken still arrives, as with redis-py's own
        # send: a command that timed out may have run, which is why a timeout is not retried.
        await until(lambda: holds(patient, "big"), 30, "the flushed write")
        assert await connection.client.get("before") == "1"  # on a connection of its own
    finally:
        await patient.aclose()
        await connection.aclose()


async def test_a_write_cancelled_halfway_drops_its_connection(own_redis: RedisServer) -> None:
    connection = connect(own_redis, timeout=30)  # cancelled long before it could time out
    patient = Redis.from_url(own_redis.url, decode_responses=True)
    try:
        await connection.client.set("before", "1")
        (used,) = connection.client.connection_pool._available_connections

        async def write_big() -> None:
            await connection.client.set("big", b"x" * larger_than_the_socket_buffers())

        with stopped(own_redis):
            write = asyncio.create_task(write_big())
            await until(lambda: used in connection.client.connection_pool._in_use_connections)
            await asyncio.sleep(0.2)  # its first bytes on their way
            write.cancel()
            with pytest.raises(asyncio.CancelledError):
                await write
            assert not used.is_connected
        await until(lambda: holds(patient, "big"), 30, "the flushed write")
        assert await connection.client.get("before") == "1"
    finally:
        await patient.aclose()
        await connection.aclose()
