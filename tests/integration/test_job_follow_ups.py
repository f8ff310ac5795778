"""A step that follows another in the same worker, and jobs acknowledged and kept claimed together,
against a real Redis (ADR 0032)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import pytest
from redis.asyncio import Redis

from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.integration.redis_job_worker import JobWorker
from ai_gateway.integration.redis_jobs import GROUP, RedisJobQueue
from ai_gateway.integration.redis_keys import RedisKeys
from tests.integration.job_workers import never_dead
from tests.waiting import until

pytestmark = pytest.mark.integration

PROMPT = "f" * 32


class CountedQueue(RedisJobQueue):
    """The Redis queue, noting each acknowledgement's batch."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        super().__init__(redis, prefix=prefix)
        self.batches: list[int] = []

    async def acknowledge(self, jobs: Sequence[tuple[str, str]]) -> None:
        self.batches.append(len(jobs))
        await super().acknowledge(jobs)


async def nothing_left(redis: Redis, queue: RedisJobQueue, prompt_ids: Sequence[str]) -> bool:
    """Every job acknowledged and deleted, and no prompt with a job waiting."""
    pending = (await redis.xpending(queue.stream, GROUP))["pending"]
    waiting = [await redis.scard(RedisKeys(queue.keys.prefix).jobs_waiting(i)) for i in prompt_ids]
    return pending == 0 and await redis.xlen(queue.stream) == 0 and not any(waiting)


async def test_a_step_that_follows_runs_next_under_the_same_entry(
    redis_client: Redis, key_prefix: str
) -> None:
    queue, stop = RedisJobQueue(redis_client, prefix=key_prefix), asyncio.Event()
    ran: list[tuple[Job, int]] = []

    async def handle(job: Job) -> Job | None:
        ran.append((job, (await redis_client.xpending(queue.stream, GROUP))["pending"]))
        return Job(JobStep.SUBMIT, job.prompt_id) if job.step is JobStep.PREPARE else None

    running = asyncio.create_task(
        JobWorker(redis_client, queue, handle, never_dead, block_seconds=0.1).run(stop)
    )
    await queue.enqueue(Job(JobStep.PREPARE, PROMPT))
    await until(lambda: len(ran) == 2)
    await until(lambda: nothing_left(redis_client, queue, [PROMPT]))
    stop.set()
    await running

    assert [job.step for job, _ in ran] == [JobStep.PREPARE, JobStep.SUBMIT]
    assert [held for _, held in ran] == [1, 1]  # the one entry, held until both steps ended


async def test_a_step_that_follows_and_crashes_has_its_entry_delivered_again(
    redis_client: Redis, key_prefix: str
) -> None:
    queue, stop = RedisJobQueue(redis_client, prefix=key_prefix), asyncio.Event()
    ran: list[JobStep] = []

    async def handle(job: Job) -> Job | None:
        ran.append(job.step)
        if job.step is JobStep.PREPARE:
            return Job(JobStep.SUBMIT, job.prompt_id)
        if ran.count(JobStep.SUBMIT) == 1:
            raise RuntimeError("the worker's store went away mid-step")
        return None

    dead: list[Job] = []

    async def on_dead(job: Job) -> JobStep:
        dead.append(job)
        return job.step

    worker = JobWorker(redis_client, queue, handle, on_dead, block_seconds=0.1, claim_idle=0.2)
    running = asyncio.create_task(worker.run(stop))
    await queue.enqueue(Job(JobStep.PREPARE, PROMPT))
    await until(lambda: len(ran) == 4, what="the entry delivered again")
    await until(lambda: nothing_left(redis_client, queue, [PROMPT]))
    stop.set()
    await running

    # The entry is the first step's: delivered again, it hands the next step on again.
    assert ran == [JobStep.PREPARE, JobStep.SUBMIT, JobStep.PREPARE, JobStep.SUBMIT]
    assert dead == []


async def test_jobs_that_end_together_are_acknowledged_together(
    redis_client: Redis, key_prefix: str
) -> None:
    queue, stop = CountedQueue(redis_client, prefix=key_prefix), asyncio.Event()
    prompts = [f"{n:032x}" for n in range(20)]
    gate, started = asyncio.Event(), 0

    async def held(_: Job) -> None:
        nonlocal started
        started += 1
        await gate.wait()

    worker = JobWorker(redis_client, queue, held, never_dead, concurrency=20, block_seconds=0.1)
    running = asyncio.create_task(worker.run(stop))
    for prompt_id in prompts:
        await queue.enqueue(Job(JobStep.PREPARE, prompt_id))
    await until(lambda: started == len(prompts))
    gate.set()
    await until(lambda: nothing_left(redis_client, queue, prompts))
    stop.set()
    await running

    assert sum(queue.batches) == len(prompts)
    assert len(queue.batches) < len(prompts)


async def test_slow_jobs_running_together_all_keep_their_claims(
    redis_client: Redis, key_prefix: str
) -> None:
    queue, stop = RedisJobQueue(redis_client, prefix=key_prefix), asyncio.Event()
    prompts = [f"{n:032x}" for n in range(3)]
    ran: list[tuple[str, str]] = []

    def slow(name: str) -> Callable[[Job], Awaitable[None]]:
        async def handle(job: Job) -> None:
            ran.append((name, job.prompt_id))
            await asyncio.sleep(1.5)  # three times the claim-idle time

        return handle

    workers = [
        JobWorker(redis_client, queue, slow(n), never_dead, block_seconds=0.1, claim_idle=0.5)
        for n in ("a", "b")
    ]
    tasks = [asyncio.create_task(w.run(stop)) for w in workers[:1]]
    for prompt_id in prompts:
        await queue.enqueue(Job(JobStep.PREPARE, prompt_id))
    await until(lambda: len(ran) == len(prompts))
    tasks.append(asyncio.create_task(workers[1].run(stop)))  # it would take over a lapsed claim
    await until(lambda: nothing_left(redis_client, queue, prompts), 10)
    stop.set()
    await asyncio.gather(*tasks)

    assert sorted(ran) == [("a", prompt_id) for prompt_id in prompts]
