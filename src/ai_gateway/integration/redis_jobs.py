"""Durable jobs on a Redis stream, with a consumer group shared by every worker
(``redis_job_worker`` reads it).

- ``enqueue`` appends to the stream (``RedisKeys.jobs``), or, with a delay, to a sorted set
  (``RedisKeys.jobs_due``) from which any worker moves due jobs to the stream (one Lua script: no
  job is moved twice).
- The queue knows each prompt's waiting jobs (queued, delayed or running; ``redis_job_scripts``),
  so ``enqueue_unless_waiting`` adds a job only for a prompt that has none.
- ``acknowledge`` deletes jobs' entries once their handlers returned, many in one script;
  ``release`` gives a job a stopping worker still holds back to the queue as a new entry, which
  another worker reads at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from redis.asyncio import Redis

from ai_gateway.application.ports.jobs import Job
from ai_gateway.integration.redis_errors import redis_errors
from ai_gateway.integration.redis_job_scripts import (
    ACK,
    ENQUEUE,
    RELEASE,
    WAITING_MARGIN_MS,
    AckArgs,
    AckKeys,
    EnqueueArgs,
    EnqueueKeys,
    ReleaseArgs,
    ReleaseKeys,
)
from ai_gateway.integration.redis_keys import RedisKeys

GROUP = "workers"


class RedisJobQueue:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self.keys = RedisKeys(prefix)
        self.stream = self.keys.jobs
        self.due = self.keys.jobs_due
        self.dead = self.keys.jobs_dead
        self._enqueue = ENQUEUE.bind(redis)
        self._acknowledge = ACK.bind(redis)
        self._release = RELEASE.bind(redis)

    async def enqueue(self, job: Job, delay: float = 0.0) -> None:
        await self._add(job, delay, unless_waiting=False)

    async def enqueue_unless_waiting(self, job: Job) -> bool:
        return await self._add(job, 0.0, unless_waiting=True)

    async def acknowledge(self, jobs: Sequence[tuple[str, str]]) -> None:
        """Acknowledges and deletes jobs' entries, each given with its prompt's id, in one
        script; each prompt has one job less waiting."""
        entries = [part for job in jobs for part in job]
        args = AckArgs(group=GROUP, prefix=self.keys.prefix, entries=entries)
        await self._acknowledge(AckKeys(stream=self.stream), args)

    async def release(self, msg_id: str, job: Job, consumer: str) -> bool:
        """Gives back a job ``consumer`` holds, for any worker to read next; False when another
        worker has taken it over meanwhile."""
        keys = ReleaseKeys(stream=self.stream, waiting=self.keys.jobs_waiting(job.prompt_id))
        args = ReleaseArgs(GROUP, consumer, msg_id, job.step.value, job.prompt_id, str(job.attempt))
        return bool(await self._release(keys, args))

    async def _add(self, job: Job, delay: float, *, unless_waiting: bool) -> bool:
        trace = {"traceparent": job.traceparent or "", "tracestate": job.tracestate or ""}
        member = json.dumps(
            {"step": job.step.value, "prompt_id": job.prompt_id, "attempt": job.attempt, **trace}
        )
        keys = EnqueueKeys(self.stream, self.due, self.keys.jobs_waiting(job.prompt_id))
        args = EnqueueArgs(
            step=job.step.value,
            prompt_id=job.prompt_id,
            attempt=job.attempt,
            member=member,
            due_at=time.time() + delay if delay > 0 else 0,
            lifetime_ms=int(max(delay, 0) * 1000) + WAITING_MARGIN_MS,
            unless_waiting=int(unless_waiting),
            **trace,
        )
        async with redis_errors():
            return bool(await self._enqueue(keys, args))
