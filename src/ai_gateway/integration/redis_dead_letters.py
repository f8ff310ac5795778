"""The dead letters in Redis: the ``P:jobs:dead`` stream and the ``P:deliveries:dead`` index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from ai_gateway.application.ports.dead_letters import DeadJob
from ai_gateway.integration.redis_errors import redis_errors
from ai_gateway.integration.redis_keys import RedisKeys


def _dead_job(entry_id: Any, raw: Any) -> DeadJob | None:
    """A dead-letter entry as the job it was; None for one that is not a job's."""
    fields = {str(k): str(v) for k, v in dict(raw or {}).items()}
    try:
        at = datetime.fromtimestamp(int(str(entry_id).split("-")[0]) / 1000, UTC)
        return DeadJob(
            id=str(entry_id),
            step=fields["step"],
            prompt_id=fields["prompt_id"],
            attempt=int(fields.get("attempt", 1)),
            deliveries=int(fields.get("deliveries", 0)),
            at=at,
        )
    except (KeyError, ValueError):
        return None


class RedisDeadLetters:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._keys = RedisKeys(prefix)

    async def jobs(self, limit: int) -> Sequence[DeadJob]:
        async with redis_errors():
            entries = await self._redis.xrevrange(self._keys.jobs_dead, count=limit)
        return [job for i, f in entries or () if (job := _dead_job(i, f)) is not None]

    async def job(self, job_id: str) -> DeadJob | None:
        async with redis_errors():
            entries = await self._redis.xrange(self._keys.jobs_dead, job_id, job_id, count=1)
        return _dead_job(entries[0][0], entries[0][1]) if entries else None

    async def forget_job(self, job_id: str) -> None:
        async with redis_errors():
            await self._redis.xdel(self._keys.jobs_dead, job_id)

    async def deliveries(self, limit: int) -> Sequence[str]:
        async with redis_errors():
            ids = await self._redis.zrevrange(self._keys.deliveries_dead, 0, limit - 1)
        return [str(i) for i in ids]
