"""Commands packed by hiredis are the bytes redis-py's own packer writes, for every URL scheme;
every connection class writes without a task of its own (ADR 0037)."""

import hashlib
import inspect
from typing import Any

import pytest
from redis.asyncio import Connection
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import DataError

from ai_gateway.integration.redis_connection import (
    PackedConnection,
    PackedSSLConnection,
    PackedUnixConnection,
    PrimaryConnection,
    PrimarySSLConnection,
    RedisConnection,
    RedisPool,
    TimedSends,
)

REVIEWED_SEND = "baaeabd916209157db40455f034a0bac6fb3e2db902271313e0702bcbc678321"
"""The SHA-256 of redis-py 8.1.0's ``AbstractConnection.send_packed_command`` source."""

COMMANDS = [
    ("SET", "key", "value"),
    ("EVALSHA", "a" * 40, 2, "p:1", "p:2", "naïve ✓", b"\xff\x00raw", 0, -17, 10**20),
    ("ZADD", "scores", 0.1, "m", 1764652800.123456, "n", float("inf"), "o"),
    ("CONFIG GET", "maxmemory"),
    (b"CLIENT SETNAME", "gateway"),
    ("XADD", "jobs", "*", "prompt_id", "", "step", "prepare"),
]


def packed(connection: Connection, *args: Any) -> bytes:
    return b"".join(connection.pack_command(*args))


@pytest.mark.parametrize("args", COMMANDS)
def test_the_bytes_are_redis_pys(args: tuple[Any, ...]) -> None:
    assert packed(PackedConnection(), *args) == packed(Connection(), *args)


@pytest.mark.parametrize("value", [True, None, object()])
def test_what_redis_py_refuses_is_refused_as_redis_py_refuses_it(value: Any) -> None:
    with pytest.raises(DataError):
        Connection().pack_command("SET", "key", value)
    with pytest.raises(DataError):
        PackedConnection().pack_command("SET", "key", value)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://localhost:6379/0", PackedConnection),
        ("rediss://localhost:6380/0", PackedSSLConnection),
        ("unix:///run/redis.sock", PackedUnixConnection),
    ],
)
async def test_every_scheme_gets_a_packing_connection(url: str, kind: type) -> None:
    connection = RedisConnection.by_url(
        url, RedisPool(max_connections=2, timeout=1, retry_seconds=1)
    )
    try:
        assert connection.client.connection_pool.connection_class is kind
    finally:
        await connection.aclose()


@pytest.mark.parametrize(
    "kind",
    [
        PackedConnection,
        PackedSSLConnection,
        PackedUnixConnection,
        PrimaryConnection,
        PrimarySSLConnection,
    ],
)
def test_every_connection_class_writes_without_a_task(kind: type[AbstractConnection]) -> None:
    """By URL or through Sentinel; the integration test shows the write on one of them."""
    assert kind.send_packed_command is TimedSends.send_packed_command


def test_the_write_follows_the_redis_py_method_it_was_made_from() -> None:
    """``TimedSends`` is redis-py 8.1.0's ``send_packed_command`` with ``asyncio.wait_for``
    replaced by ``asyncio.timeout``: a redis-py whose method changed must be read again, and
    the copy made to follow it, before this fingerprint is updated."""
    source = inspect.getsource(AbstractConnection.send_packed_command)
    assert hashlib.sha256(source.encode()).hexdigest() == REVIEWED_SEND
