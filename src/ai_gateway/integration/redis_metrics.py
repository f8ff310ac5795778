"""Queue and outbox sizes, read from Redis when metrics are scraped."""

from __future__ import annotations

from redis.asyncio import Redis

from ai_gateway.application.ports.operations import Measurement
from ai_gateway.integration.redis_errors import redis_errors
from ai_gateway.integration.redis_keys import RedisKeys


class RedisMetrics:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._keys = RedisKeys(prefix)

    async def read(self) -> list[Measurement]:
        keys = self._keys
        async with redis_errors(), self._redis.pipeline(transaction=False) as pipe:
            pipe.xlen(keys.outbox)
            pipe.xlen(keys.outbox_dead)
            pipe.xlen(keys.jobs)
            pipe.zcard(keys.jobs_due)
            pipe.xlen(keys.jobs_dead)
            backlog, dead_events, jobs, delayed, dead_jobs = await pipe.execute()
        return [
            Measurement(
                "ai_gateway_event_outbox_backlog", "Lifecycle events waiting for the sink.", backlog
            ),
            Measurement(
                "ai_gateway_event_outbox_dead", "Events the sink refused for good.", dead_events
            ),
            Measurement("ai_gateway_jobs_queued", "Jobs in the queue, running or waiting.", jobs),
            Measurement(
                "ai_gateway_jobs_delayed",
                "Jobs waiting for a retry or a callback attempt.",
                delayed,
            ),
            Measurement(
                "ai_gateway_jobs_dead", "Jobs dead-lettered after crashing every worker.", dead_jobs
            ),
        ]
