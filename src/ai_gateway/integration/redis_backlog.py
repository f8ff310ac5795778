"""The prompt backlog (ADR 0019): prompts created, preparing or prepared, over every caller, from
the status indexes; and the creations refused so far, by reason."""

from __future__ import annotations

from redis.asyncio import Redis

from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.application.ports.limits import Backlog
from ai_gateway.integration.redis_admission import BACKLOG_STATUSES
from ai_gateway.integration.redis_errors import redis_errors
from ai_gateway.integration.redis_keys import RedisKeys


class RedisBacklog:
    """A BacklogGauge, and the readiness probe that fails while the backlog is full (creation
    answers 503 then), as the outbox's does."""

    name = "prompt_backlog"

    def __init__(self, redis: Redis, *, prefix: str, bound: int) -> None:
        """``bound``: BACKLOG_MAX_PROMPTS, 0 for none."""
        self._redis = redis
        self._keys = RedisKeys(prefix)
        self._bound = bound or None

    async def read(self) -> Backlog:
        async with redis_errors(), self._redis.pipeline(transaction=False) as pipe:
            for status in BACKLOG_STATUSES:
                pipe.zcard(self._keys.index(status=status.value))
            pipe.hgetall(self._keys.refusals)
            *counts, refused = await pipe.execute()
        return Backlog(
            prompts=sum(int(n) for n in counts),
            bound=self._bound,
            refusals={str(reason): int(n) for reason, n in refused.items()},
        )

    async def check(self) -> bool:
        try:
            return not (await self.read()).full
        except DependencyUnavailable:
            return False
