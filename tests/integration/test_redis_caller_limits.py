"""Every caller's limits and usage for the operator, read from a real Redis in a fixed number of
round trips, by the same reader a caller's own standing comes from."""

from __future__ import annotations

import time
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection

from ai_gateway.application.ports.limits import LimitsSource
from ai_gateway.domain.limits import CallerLimits, Rate
from ai_gateway.integration.redis_caller_limits import RedisCallerLimits
from ai_gateway.integration.redis_keys import RedisKeys
from tests.servers import RedisServer

pytestmark = pytest.mark.integration


class CountingConnection(Connection):
    """A connection that counts what it writes: one write per command, or per pipeline."""

    writes = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).writes += 1
        await super().send_packed_command(command, check_health)


async def test_every_callers_limits_and_usage_take_two_round_trips_however_many(
    redis_server: RedisServer, key_prefix: str
) -> None:
    redis = Redis.from_url(
        redis_server.url, decode_responses=True, connection_class=CountingConnection
    )
    limits = RedisCallerLimits(
        redis, prefix=key_prefix, configured={"a": CallerLimits(in_flight=3)}
    )
    stored = CallerLimits(requests=Rate(5, 60), tokens_per_day=100)
    await limits.store("b", stored, "apikey:ops")
    keys = RedisKeys(key_prefix)
    await redis.set(keys.caller_rate("b"), 2, px=30_000)
    await redis.set(keys.caller_tokens("b", int(time.time() * 1000) // 86_400_000), 40)
    callers = [(f"c{n}", f"apikey:c{n}") for n in range(50)] + [
        ("a", "apikey:a"), ("b", "apikey:b")
    ]  # fmt: skip

    CountingConnection.writes = 0
    accounts = await limits.accounts(callers)
    writes = CountingConnection.writes
    standing = await limits.standing("b", "apikey:b", stored)
    await redis.aclose()

    assert writes == 2  # Redis's clock, then one pipeline
    assert [(a.caller, a.owner) for a in accounts] == callers
    a, b = accounts[-2:]
    assert (a.source, a.effective) == (LimitsSource.CONFIGURED, CallerLimits(in_flight=3))
    assert (b.source, b.effective) == (LimitsSource.STORED, stored)
    assert (b.usage.requests, b.usage.tokens_today) == (2, 40)
    assert 0 < (b.usage.requests_reset_seconds or 0) <= 30
    assert (standing.requests_remaining, standing.tokens_remaining) == (3, 60)
    assert {x.source for x in accounts[:50]} == {None}
    assert {x.usage.requests_reset_seconds for x in accounts[:50]} == {None}
