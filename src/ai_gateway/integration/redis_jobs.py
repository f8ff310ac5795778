"""Durable jobs on a Redis stream, with a consumer group shared by every worker.

- ``enqueue`` appends to the stream (``RedisKeys.jobs``), or, with a delay, to a sorted set
  (``RedisKeys.jobs_due``) from which any worker moves due jobs to the stream (one Lua script: no
  job is moved twice).
- A worker reads with XREADGROUP and acknowledges (and deletes) a job only after its handler
  returned. While a handler runs, a heartbeat re-claims the job for its own consumer, so no other
  worker takes over a job that is merely slow.
- Every ``claim_interval`` a worker claims jobs idle for longer than ``claim_idle`` (their worker
  died): recovery does not wait for new traffic.
- A job delivered more than ``max_deliveries`` times (it crashes every worker) is handed to
  ``on_dead`` and moved to the ``RedisKeys.jobs_dead`` stream instead of being run again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.integration.redis_errors import REDIS_DOWN, redis_errors
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.integration.redis_scripts import NamedScript

logger = logging.getLogger("ai_gateway.worker")

GROUP = "workers"


class _PromoteKeys(NamedTuple):
    due: str  # delayed jobs, scored by when they are due (epoch seconds)
    stream: str  # the job stream


class _PromoteArgs(NamedTuple):
    now: float  # epoch seconds


_PROMOTE: NamedScript[_PromoteKeys, _PromoteArgs] = NamedScript(
    _PromoteKeys,
    _PromoteArgs,
    """
local due = redis.call('ZRANGEBYSCORE', KEY.due, '-inf', ARG.now, 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  local job = cjson.decode(member)
  redis.call('XADD', KEY.stream, '*', 'step', job.step, 'prompt_id', job.prompt_id,
             'attempt', tostring(job.attempt))
  redis.call('ZREM', KEY.due, member)
end
return #due
""",
)
"""Moves due jobs to the stream; returns how many."""


def _fields(job: Job) -> dict[Any, Any]:
    """A job as stream entry fields (typed loosely, as redis-py's xadd wants them)."""
    return {"step": job.step.value, "prompt_id": job.prompt_id, "attempt": str(job.attempt)}


def _job(fields: dict[str, str]) -> Job | None:
    try:
        return Job(JobStep(fields["step"]), fields["prompt_id"], int(fields["attempt"]))
    except (KeyError, ValueError):
        return None


class RedisJobQueue:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        keys = RedisKeys(prefix)
        self.stream = keys.jobs
        self.due = keys.jobs_due
        self.dead = keys.jobs_dead

    async def enqueue(self, job: Job, delay: float = 0.0) -> None:
        async with redis_errors():
            if delay <= 0:
                await self._redis.xadd(self.stream, _fields(job))
            else:
                member = json.dumps(
                    {"step": job.step.value, "prompt_id": job.prompt_id, "attempt": job.attempt}
                )
                await self._redis.zadd(self.due, {member: time.time() + delay})


def _messages(reply: Any, stream: str) -> list[tuple[str, dict[str, str]]]:
    """XREADGROUP's reply, ``[[stream, [(id, fields), ...]]]``, or empty after the block."""
    entries = dict(reply or []).get(stream, [])
    return [(str(msg_id), dict(fields)) for msg_id, fields in entries if fields is not None]


class JobWorker:
    def __init__(
        self,
        redis: Redis,
        queue: RedisJobQueue,
        handler: Callable[[Job], Awaitable[None]],
        on_dead: Callable[[Job], Awaitable[None]],
        *,
        concurrency: int = 8,
        claim_idle: float = 60.0,
        max_deliveries: int = 5,
        block_seconds: float = 1.0,
    ) -> None:
        self._redis = redis
        self._queue = queue
        self._handler = handler
        self._on_dead = on_dead
        self._concurrency = concurrency
        self._claim_idle_ms = int(claim_idle * 1000)
        self._max_deliveries = max_deliveries
        self._block_ms = int(block_seconds * 1000)
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._promote = _PROMOTE.bind(redis)
        self._tasks: set[asyncio.Task[None]] = set()
        self._group_ready = False

    @property
    def claim_interval(self) -> float:
        return max(self._claim_idle_ms / 4000, 0.1)

    async def run(self, stop: asyncio.Event, drain_seconds: float = 30.0) -> None:
        """Works until ``stop`` is set, then waits up to ``drain_seconds`` for running jobs."""
        logger.info("worker %s started (concurrency %d)", self.consumer, self._concurrency)
        next_claim = 0.0
        while not stop.is_set():
            try:
                await self._ensure_group()
                await self._promote(
                    _PromoteKeys(due=self._queue.due, stream=self._queue.stream),
                    _PromoteArgs(now=time.time()),
                )
                free = self._concurrency - len(self._tasks)
                if free <= 0:
                    await asyncio.wait(self._tasks, timeout=1, return_when=asyncio.FIRST_COMPLETED)
                    continue
                batch: list[tuple[str, dict[str, str]]] = []
                if time.monotonic() >= next_claim:
                    batch = await self._claim_abandoned(free)
                    next_claim = time.monotonic() + self.claim_interval
                if not batch:
                    batch = await self._read(free)
                for msg_id, fields in batch:
                    self._start(msg_id, fields)
            except REDIS_DOWN as exc:
                logger.warning("worker %s: redis unavailable (%s); retrying", self.consumer, exc)
                await asyncio.sleep(1)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=drain_seconds)
        logger.info("worker %s stopped", self.consumer)

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self._queue.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def _read(self, count: int) -> list[tuple[str, dict[str, str]]]:
        reply = await self._redis.xreadgroup(
            GROUP, self.consumer, {self._queue.stream: ">"}, count=count, block=self._block_ms
        )
        return _messages(reply, self._queue.stream)

    async def _claim_abandoned(self, count: int) -> list[tuple[str, dict[str, str]]]:
        reply = await self._redis.xautoclaim(
            self._queue.stream, GROUP, self.consumer, self._claim_idle_ms, "0-0", count=count
        )
        claimed = [(str(i), dict(f)) for i, f in reply[1] if f is not None]
        alive = []
        for msg_id, fields in claimed:
            pending = await self._redis.xpending_range(self._queue.stream, GROUP, msg_id, msg_id, 1)
            deliveries = int(pending[0]["times_delivered"]) if pending else 1
            if deliveries > self._max_deliveries:
                await self._bury(msg_id, fields, deliveries)
            else:
                logger.info(
                    "worker %s took over job %s (delivery %d)", self.consumer, msg_id, deliveries
                )
                alive.append((msg_id, fields))
        return alive

    async def _bury(self, msg_id: str, fields: dict[str, str], deliveries: int) -> None:
        logger.error("job %s %s failed %d deliveries; dead-lettered", msg_id, fields, deliveries)
        job = _job(fields)
        if job is not None:
            await self._on_dead(job)
        dead: dict[Any, Any] = {**fields, "deliveries": str(deliveries)}
        await self._redis.xadd(self._queue.dead, dead)
        await self._ack(msg_id)

    def _start(self, msg_id: str, fields: dict[str, str]) -> None:
        task = asyncio.create_task(self._run_one(msg_id, fields), name=f"job-{msg_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_one(self, msg_id: str, fields: dict[str, str]) -> None:
        job = _job(fields)
        if job is None:
            logger.error("job %s is malformed (%s); dropped", msg_id, fields)
            await self._ack(msg_id)
            return
        heartbeat = asyncio.create_task(self._heartbeat(msg_id))
        try:
            await self._handler(job)
        except Exception:
            logger.exception(
                "job %s (%s of %s) failed; it will be delivered again",
                msg_id,
                job.step,
                job.prompt_id,
            )
            return
        finally:
            heartbeat.cancel()
        try:
            await self._ack(msg_id)
        except REDIS_DOWN:
            logger.warning("job %s done but not acknowledged; it may run again", msg_id)

    async def _heartbeat(self, msg_id: str) -> None:
        while True:
            await asyncio.sleep(self._claim_idle_ms / 3000)
            try:
                await self._redis.xclaim(
                    self._queue.stream, GROUP, self.consumer, 0, [msg_id], justid=True
                )
            except REDIS_DOWN:
                continue

    async def _ack(self, msg_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._queue.stream, GROUP, msg_id)
            pipe.xdel(self._queue.stream, msg_id)
            await pipe.execute()
