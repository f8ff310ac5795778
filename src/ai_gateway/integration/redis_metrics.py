"""Queue and outbox sizes and lags, read from Redis when metrics are scraped: one pipeline, and
one XRANGE that needs the job group's position from it. The backlog's gauges come with the
readiness check the same scrape makes."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ai_gateway.application.ports.operations import Measurement
from ai_gateway.integration.redis_errors import redis_errors
from ai_gateway.integration.redis_jobs import GROUP
from ai_gateway.integration.redis_keys import RedisKeys


def _age(entries: Any, now: float) -> float:
    """Seconds since the first of ``entries`` (an XRANGE reply) was added; 0 with none."""
    if not entries:
        return 0.0
    added_ms = int(str(entries[0][0]).partition("-")[0])
    return max(now - added_ms / 1000, 0.0)


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
            pipe.xrange(keys.outbox, "-", "+", count=1)
            pipe.xinfo_groups(keys.jobs)
            # XINFO fails while no stream exists; the other commands' errors still raise.
            *counts, groups = await pipe.execute(raise_on_error=False)
            for failed in (c for c in counts if isinstance(c, Exception)):
                raise failed
            backlog, dead_events, jobs, delayed, dead_jobs, oldest_event = counts
            job_lag = await self._oldest_waiting_job_age(groups)
        return [
            Measurement(
                "ai_gateway_event_outbox_backlog", "Lifecycle events waiting for the sink.", backlog
            ),
            Measurement(
                "ai_gateway_event_outbox_dead", "Events the sink refused for good.", dead_events
            ),
            Measurement(
                "ai_gateway_event_outbox_lag_seconds",
                "Age of the oldest event waiting for the sink (0 when none waits).",
                _age(oldest_event, time.time()),
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
            Measurement(
                "ai_gateway_jobs_lag_seconds",
                "Age of the oldest job no worker has taken yet (0 when none waits).",
                job_lag,
            ),
        ]

    async def _oldest_waiting_job_age(self, groups: Any) -> float:
        """The first entry after the workers' last delivered one is the oldest not yet taken."""
        if isinstance(groups, ResponseError):  # no stream yet: nothing was ever queued
            return 0.0
        group = next((g for g in groups if g["name"] == GROUP), None)
        start = "-" if group is None else "(" + str(group["last-delivered-id"])
        return _age(await self._redis.xrange(self._keys.jobs, start, "+", count=1), time.time())
