"""Commands packed by hiredis are the bytes redis-py's own packer writes, for every URL scheme."""

from typing import Any

import pytest
from redis.asyncio import Connection
from redis.exceptions import DataError

from ai_gateway.integration.redis_connection import (
    PackedConnection,
    PackedSSLConnection,
    PackedUnixConnection,
    RedisConnection,
    RedisPool,
)

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
