"""What Redis being unreachable means to the gateway.

``REDIS_DOWN`` is every error redis-py raises when the server cannot be reached or answers too
late; a request path translates them to ``DependencyUnavailable`` (503 at the API) with
``redis_errors``, a background loop catches them and tries again, and readiness reports them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ai_gateway.application.errors import DependencyUnavailable

REDIS_DOWN: Final = (RedisConnectionError, RedisTimeoutError, OSError)


@asynccontextmanager
async def redis_errors() -> AsyncIterator[None]:
    """Raises ``DependencyUnavailable("redis")`` in place of an unreachable Redis."""
    try:
        yield
    except REDIS_DOWN as exc:
        raise DependencyUnavailable("redis") from exc


class RedisHealth:
    name = "redis"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def check(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except REDIS_DOWN:
            return False
