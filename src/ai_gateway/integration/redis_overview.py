"""The overview's numbers from Redis: the per-minute and per-hour status counters and the latest
answer times the prompt scripts keep, and the sizes of the queue, dead letters and outbox."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from ai_gateway.application.ports.overview import OverviewNumbers
from ai_gateway.integration.redis_errors import redis_errors
from ai_gateway.integration.redis_keys import RedisKeys

MINUTES, HOURS = 60, 24


def _counts(hashes: list[Any]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for counts in hashes:
        total.update({str(k): int(v) for k, v in (counts or {}).items()})
    return dict(total)


def _percentile(samples: list[float], cut: int) -> float | None:
    if not samples:
        return None
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[cut - 1]


class RedisOverview:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._keys = RedisKeys(prefix)

    async def read(self, now: datetime) -> OverviewNumbers:
        keys = self._keys
        minute = int(now.timestamp()) // 60
        minutes = [minute - i for i in range(MINUTES - 1, -1, -1)]
        hours = [minute // 60 - i for i in range(HOURS)]
        async with redis_errors(), self._redis.pipeline(transaction=False) as pipe:
            for m in minutes:
                pipe.hgetall(keys.stats_minute(m))
            for h in hours:
                pipe.hgetall(keys.stats_hour(h))
            pipe.lrange(keys.answer_times, 0, -1)
            pipe.xlen(keys.jobs)
            pipe.zcard(keys.jobs_due)
            pipe.xrange(keys.jobs, count=1)
            pipe.xlen(keys.jobs_dead)
            pipe.zcard(keys.deliveries_dead)
            pipe.xlen(keys.outbox)
            replies = await pipe.execute()
        by_minute, by_hour = replies[:MINUTES], replies[MINUTES : MINUTES + HOURS]
        times, queued, delayed, oldest, dead_jobs, dead_deliveries, backlog = replies[
            MINUTES + HOURS :
        ]
        answers = sorted(int(t) / 1000 for t in times)
        lag = 0.0
        if oldest:
            since_ms = int(str(oldest[0][0]).split("-")[0])
            lag = max(now.timestamp() - since_ms / 1000, 0.0)
        return OverviewNumbers(
            last_hour=_counts(by_minute),
            last_day=_counts(by_hour),
            completions_per_minute=tuple(int((c or {}).get("completed", 0)) for c in by_minute),
            answer_seconds_p50=_percentile(answers, 50),
            answer_seconds_p95=_percentile(answers, 95),
            answers_sampled=len(answers),
            jobs_queued=int(queued),
            jobs_delayed=int(delayed),
            queue_lag_seconds=lag,
            dead_jobs=int(dead_jobs),
            dead_deliveries=int(dead_deliveries),
            outbox_backlog=int(backlog),
        )
