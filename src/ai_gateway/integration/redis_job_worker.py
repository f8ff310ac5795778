"""The workers of the job queue (``redis_jobs``), each one a consumer of its group.

- A worker reads with XREADGROUP and acknowledges (and deletes) a job only after its handler
  returned. A handler may return the step that follows at once (``Job.following``): the worker
  runs it next, in a span of its own, before it acknowledges the job (ADR 0032). While jobs run,
  one heartbeat re-claims them all for the worker's consumer every third of ``claim_idle``, so no
  other worker takes over a job that is merely slow.
- Delayed jobs that came due are moved to the stream at most every ``PROMOTE_SECONDS``.
- Every ``claim_interval`` a worker claims jobs idle for longer than ``claim_idle`` (their worker
  died): recovery does not wait for new traffic.
- Told to stop, a worker reads no more jobs, lets its running jobs finish for up to
  ``drain_seconds``, then cancels those still running and gives them back to the queue as new
  entries (``release``), which another worker reads at once instead of after ``claim_idle``.
- A job delivered more than ``max_deliveries`` times (it crashes every worker) is handed to
  ``on_dead`` and moved to the ``RedisKeys.jobs_dead`` stream instead of being run again, under
  the step ``on_dead`` names as the one that failed (a step that followed in the same entry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry.trace import SpanKind
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.application.tracing import TraceContext, note, span, work_fields
from ai_gateway.integration.redis_errors import REDIS_DOWN
from ai_gateway.integration.redis_job_acks import BatchedAcks
from ai_gateway.integration.redis_job_scripts import PROMOTE, PromoteArgs, PromoteKeys
from ai_gateway.integration.redis_jobs import GROUP, RedisJobQueue
from ai_gateway.metrics.definitions import JOB_DURATION, JOB_QUEUE_WAIT, JOBS_DEAD_LETTERED

logger = logging.getLogger("ai_gateway.worker")

STEPS = frozenset(step.value for step in JobStep)
PROMOTE_SECONDS = 0.1


def _job(fields: dict[str, str]) -> Job | None:
    try:
        step, prompt_id, attempt = fields["step"], fields["prompt_id"], int(fields["attempt"])
        trace = fields.get("traceparent") or None, fields.get("tracestate") or None
        return Job(JobStep(step), prompt_id, attempt, *trace)
    except (KeyError, ValueError):
        return None


def _messages(reply: Any, stream: str) -> list[tuple[str, dict[str, str]]]:
    """XREADGROUP's reply, ``[[stream, [(id, fields), ...]]]``, or empty after the block."""
    entries = dict(reply or []).get(stream, [])
    return [(str(msg_id), dict(fields)) for msg_id, fields in entries if fields is not None]


def _observe_waits(messages: list[tuple[str, dict[str, str]]], now: float) -> None:
    """How long each job just taken waited: a stream entry's id starts with the milliseconds
    at which it was added, when it was queued or, delayed, came due."""
    for msg_id, fields in messages:
        step = fields.get("step")
        if step in STEPS:
            waited = now - int(msg_id.partition("-")[0]) / 1000
            JOB_QUEUE_WAIT.labels(step).observe(max(waited, 0.0))


class JobWorker:
    def __init__(
        self,
        redis: Redis,
        queue: RedisJobQueue,
        handler: Callable[[Job], Awaitable[Job | None]],
        on_dead: Callable[[Job], Awaitable[JobStep]],
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
        self._promote = PROMOTE.bind(redis)
        self._tasks: dict[asyncio.Task[None], tuple[str, Job | None]] = {}
        self._freed = asyncio.Event()
        self._group_ready = False
        self._acks = BatchedAcks(queue)

    @property
    def claim_interval(self) -> float:
        return max(self._claim_idle_ms / 4000, 0.1)

    async def run(self, stop: asyncio.Event, drain_seconds: float = 30.0) -> None:
        """Works until ``stop`` is set, then waits up to ``drain_seconds`` for running jobs."""
        logger.info("worker %s started (concurrency %d)", self.consumer, self._concurrency)
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._work(stop, drain_seconds)
        finally:
            heartbeat.cancel()
        logger.info("worker %s stopped", self.consumer)

    async def _work(self, stop: asyncio.Event, drain_seconds: float) -> None:
        next_claim = next_promotion = 0.0
        while not stop.is_set():
            try:
                await self._ensure_group()
                if time.monotonic() >= next_promotion:
                    await self._promote(
                        PromoteKeys(due=self._queue.due, stream=self._queue.stream),
                        PromoteArgs(prefix=self._queue.keys.prefix, now=time.time()),
                    )
                    next_promotion = time.monotonic() + PROMOTE_SECONDS
                free = self._concurrency - len(self._tasks)
                if free <= 0:
                    await self._slot_freed()
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
        await self._drain(drain_seconds)

    async def _slot_freed(self) -> None:
        """Until a running job ends, or a second passes (to look at ``stop`` again). Not
        ``asyncio.wait`` on the running jobs: that hooks into and out of every one of them each
        time, which costs 24 times as much with 128 at once (ADR 0031)."""
        self._freed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await self._freed.wait()

    async def _drain(self, seconds: float) -> None:
        """Lets running jobs finish for ``seconds``, then gives back to the queue those that
        did not."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=seconds)
        unfinished = [(task, *held) for task, held in list(self._tasks.items()) if not task.done()]
        for task, *_ in unfinished:
            task.cancel()
        if unfinished:
            await asyncio.wait([task for task, *_ in unfinished])
        for _, msg_id, job in unfinished:
            if job is None:
                continue
            try:
                released = await self._queue.release(msg_id, job, self.consumer)
            except REDIS_DOWN:
                released = False
            logger.info(
                "worker %s stopping: job %s (%s of %s) %s",
                self.consumer,
                msg_id,
                job.step,
                job.prompt_id,
                "given back to the queue" if released else "left to be taken over",
            )

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
        messages = _messages(reply, self._queue.stream)
        _observe_waits(messages, time.time())
        return messages

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
        dead: dict[Any, Any] = {**fields, "deliveries": str(deliveries)}
        if job is not None:
            failed = await self._on_dead(job)
            JOBS_DEAD_LETTERED.labels(failed.value).inc()
            dead["step"] = failed.value
        await self._redis.xadd(self._queue.dead, dead)
        await self._ack(msg_id, fields)

    def _start(self, msg_id: str, fields: dict[str, str]) -> None:
        job = _job(fields)
        task = asyncio.create_task(self._run_one(msg_id, fields, job), name=f"job-{msg_id}")
        self._tasks[task] = (msg_id, job)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        self._freed.set()

    async def _run_one(self, msg_id: str, fields: dict[str, str], job: Job | None) -> None:
        if job is None:
            logger.error("job %s is malformed (%s); dropped", msg_id, fields)
            await self._ack(msg_id, fields)
            return
        step: Job | None = job
        while step is not None:
            done, step = await self._step(msg_id, step)
            if not done:
                return
        try:
            await self._ack(msg_id, fields)
        except REDIS_DOWN:
            logger.warning("job %s done but not acknowledged; it may run again", msg_id)

    async def _step(self, msg_id: str, job: Job) -> tuple[bool, Job | None]:
        """Runs one step in its span: whether it returned, and the step that follows at once.
        A step that follows another runs under the same entry: should it crash, the entry is
        delivered again and the step before, finding its work done, hands this one on again."""
        parent = TraceContext.of(job.traceparent, job.tracestate)
        step = job.step.value
        with span(step, parent, kind=SpanKind.CONSUMER, prompt_id=job.prompt_id, step=step,
                  attempt=job.attempt):  # fmt: skip
            started = time.perf_counter()
            try:
                following = await self._handler(job)
            except Exception:
                JOB_DURATION.labels(step, "failed").observe(time.perf_counter() - started)
                note(outcome="crashed")
                logger.exception("job %s (%s of %s) failed; it will be delivered again",
                                 msg_id, job.step, job.prompt_id)  # fmt: skip
                return False, None
            JOB_DURATION.labels(step, "done").observe(time.perf_counter() - started)
            if "outcome" not in work_fields.get():
                note(outcome="done")
        return True, following

    async def _heartbeat(self) -> None:
        """Re-claims every job still running, all in one XCLAIM, every third of ``claim_idle``."""
        while True:
            await asyncio.sleep(self._claim_idle_ms / 3000)
            held: list[Any] = [msg_id for msg_id, _ in self._tasks.values()]
            if held:
                with contextlib.suppress(*REDIS_DOWN):
                    await self._redis.xclaim(
                        self._queue.stream, GROUP, self.consumer, 0, held, justid=True
                    )

    async def _ack(self, msg_id: str, fields: dict[str, str]) -> None:
        await self._acks.acknowledge(msg_id, fields.get("prompt_id", ""))
