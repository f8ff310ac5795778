"""Queue and outbox sizes, read from Redis when metrics are scraped."""

from __future__ import annotations

from redis.asyncio import Redis

from ai_gateway.application.ports.operations import Measurement
from ai_gateway.integration.redis_prompt_repository import redis_errors


class RedisMetrics:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._p = prefix

    async def read(self) -> list[Measurement]:
        p = self._p
        async with redis_errors(), self._redis.pipeline(transaction=False) as pipe:
            pipe.xlen(f"{p}:outbox")
            pipe.xlen(f"{p}:outbox:dead")
            pipe.xlen(f"{p}:jobs")
            pipe.zcard(f"{p}:jobs:due")
            pipe.xlen(f"{p}:jobs:dead")
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
