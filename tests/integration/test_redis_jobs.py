"""The job queue and workers against a real Redis."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

import pytest
from prometheus_client import generate_latest
from redis.asyncio import Redis

from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.integration.redis_dead_letters import RedisDeadLetters
from ai_gateway.integration.redis_job_worker import JobWorker
from ai_gateway.integration.redis_jobs import GROUP, RedisJobQueue
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.integration.redis_lock import run_periodically
from tests.metric_samples import value
from tests.waiting import until

pytestmark = pytest.mark.integration

Handler = Callable[[Job], Awaitable[None]]


class Recorder:
    def __init__(self) -> None:
        self.runs: list[tuple[str, Job, float]] = []
        self.dead: list[Job] = []
        self.failed: JobStep | None = None  # the step on_dead names, else the job's own

    def handler(self, name: str, work: Handler | None = None) -> Handler:
        async def handle(job: Job) -> None:
            self.runs.append((name, job, time.monotonic()))
            if work is not None:
                await work(job)

        return handle

    async def on_dead(self, job: Job) -> JobStep:
        self.dead.append(job)
        return self.failed or job.step


def worker(
    redis: Redis, queue: RedisJobQueue, handler: Handler, rec: Recorder, **kw: float
) -> JobWorker:
    return JobWorker(redis, queue, handler, rec.on_dead, block_seconds=0.1, **kw)  # type: ignore[arg-type]


def counted(step: str) -> float:
    """Jobs dead-lettered so far in this process, by the step that failed."""
    return value(generate_latest().decode(), "ai_gateway_jobs_dead_lettered_total", step=step)


def settled(redis: Redis, queue: RedisJobQueue) -> Callable[[], Awaitable[bool]]:
    """Every job acknowledged and removed: none can run again."""

    async def check() -> bool:
        pending = (await redis.xpending(queue.stream, GROUP))["pending"]
        return pending == 0 and await redis.xlen(queue.stream) == 0

    return check


async def test_a_job_runs_once_and_leaves_nothing_pending(
    redis_client: Redis, key_prefix: str
) -> None:
    queue, rec, stop = RedisJobQueue(redis_client, prefix=key_prefix), Recorder(), asyncio.Event()
    running = asyncio.create_task(worker(redis_client, queue, rec.handler("w"), rec).run(stop))
    await queue.enqueue(Job(JobStep.PREPARE, "a" * 32))

    await until(lambda: len(rec.runs) == 1)
    await until(settled(redis_client, queue))
    stop.set()
    await running

    assert [r[1] for r in rec.runs] == [Job(JobStep.PREPARE, "a" * 32)]


async def test_a_full_worker_takes_its_next_job_as_soon_as_one_ends(
    redis_client: Redis, key_prefix: str
) -> None:
    queue, rec, stop = RedisJobQueue(redis_client, prefix=key_prefix), Recorder(), asyncio.Event()
    running_now, most, gates = 0, 0, {f"{n}" * 32: asyncio.Event() for n in range(5)}

    async def held(job: Job) -> None:
        nonlocal running_now, most
        running_now += 1
        most = max(most, running_now)
        await gates[job.prompt_id].wait()
        running_now -= 1

    w = worker(redis_client, queue, rec.handler("w", held), rec, concurrency=2)
    running = asyncio.create_task(w.run(stop))
    for prompt_id in gates:
        await queue.enqueue(Job(JobStep.PREPARE, prompt_id))

    def jobs_taken(count: int) -> Callable[[], bool]:
        return lambda: len(rec.runs) == count

    await until(jobs_taken(2), what="2 jobs taken")
    for taken in range(2, 6):
        await asyncio.sleep(0.05)
        assert len(rec.runs) == taken, "a full worker took another job"
        gates[rec.runs[taken - 2][1].prompt_id].set()
        if taken < 5:  # at once: well before the worker's next look at ``stop``, a second away
            await until(jobs_taken(taken + 1), 0.5, f"{taken + 1} jobs taken")
    for gate in gates.values():
        gate.set()
    await until(settled(redis_client, queue))
    stop.set()
    await running

    assert most == 2
    assert sorted(r[1].prompt_id for r in rec.runs) == sorted(gates)


async def test_a_delayed_job_waits_for_its_time(redis_client: Redis, key_prefix: str) -> None:
    queue, rec, stop = RedisJobQueue(redis_client, prefix=key_prefix), Recorder(), asyncio.Event()
    running = asyncio.create_task(worker(redis_client, queue, rec.handler("w"), rec).run(stop))
    queued_at = time.monotonic()
    await queue.enqueue(Job(JobStep.SUBMIT, "b" * 32, attempt=2), delay=0.3)

    await until(lambda: len(rec.runs) == 1)
    stop.set()
    await running

    _, job, ran_at = rec.runs[0]
    assert job == Job(JobStep.SUBMIT, "b" * 32, attempt=2)
    assert ran_at - queued_at >= 0.3


async def test_the_job_of_a_dead_worker_is_taken_over(redis_client: Redis, key_prefix: str) -> None:
    queue, rec = RedisJobQueue(redis_client, prefix=key_prefix), Recorder()
    forever = asyncio.Event()

    async def hang(_: Job) -> None:
        await forever.wait()

    dying = worker(redis_client, queue, rec.handler("dying", hang), rec, claim_idle=0.2)
    stop_dying = asyncio.Event()
    dying_task = asyncio.create_task(dying.run(stop_dying))
    await queue.enqueue(Job(JobStep.PREPARE, "c" * 32))
    await until(lambda: len(rec.runs) == 1)
    for task in [dying_task, *dying._tasks]:  # the process dies: no ack, no more heartbeats
        task.cancel()
    await asyncio.gather(dying_task, *dying._tasks, return_exceptions=True)

    stop = asyncio.Event()
    survivor = asyncio.create_task(
        worker(redis_client, queue, rec.handler("survivor"), rec, claim_idle=0.2).run(stop)
    )
    await until(lambda: len(rec.runs) == 2)
    stop.set()
    await survivor

    assert [(name, job.prompt_id) for name, job, _ in rec.runs] == [
        ("dying", "c" * 32),
        ("survivor", "c" * 32),
    ]
    assert (await redis_client.xpending(queue.stream, GROUP))["pending"] == 0


async def test_a_slow_job_keeps_its_claim_and_runs_once(
    redis_client: Redis, key_prefix: str
) -> None:
    queue, rec, stop = RedisJobQueue(redis_client, prefix=key_prefix), Recorder(), asyncio.Event()

    async def slow(_: Job) -> None:
        await asyncio.sleep(1.5)  # the work itself: three times the claim-idle time

    workers = [
        worker(redis_client, queue, rec.handler(n, slow), rec, claim_idle=0.5) for n in ("a", "b")
    ]
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    await queue.enqueue(Job(JobStep.SUBMIT, "d" * 32))
    await until(lambda: len(rec.runs) == 1)
    await until(settled(redis_client, queue))
    stop.set()
    await asyncio.gather(*tasks)

    assert len(rec.runs) == 1


async def crash_until_buried(
    redis: Redis, prefix: str, rec: Recorder, job: Job, max_deliveries: int
) -> None:
    """Runs a worker whose every run of ``job`` crashes, until the job is dead-lettered."""
    queue, stop = RedisJobQueue(redis, prefix=prefix), asyncio.Event()

    async def crash(_: Job) -> None:
        raise RuntimeError("bug")

    running = asyncio.create_task(
        worker(
            redis, queue, rec.handler("w", crash), rec, claim_idle=0.2,
            max_deliveries=max_deliveries,
        ).run(stop)
    )  # fmt: skip
    await queue.enqueue(job)
    await until(lambda: len(rec.dead) == 1)
    await until(settled(redis, queue))
    stop.set()
    await running


async def test_a_job_that_keeps_crashing_is_dead_lettered(
    redis_client: Redis, key_prefix: str
) -> None:
    rec = Recorder()

    await crash_until_buried(redis_client, key_prefix, rec, Job(JobStep.PREPARE, "e" * 32), 2)

    assert rec.dead == [Job(JobStep.PREPARE, "e" * 32)]
    assert len(rec.runs) == 2
    (listed,) = await RedisDeadLetters(redis_client, prefix=key_prefix).jobs(10)
    assert (listed.step, listed.prompt_id) == ("prepare", "e" * 32)


async def test_a_dead_letter_is_listed_under_the_step_that_failed(
    redis_client: Redis, key_prefix: str
) -> None:
    """A submission runs under its preparation's entry (ADR 0032): when it is what crashed every
    worker, the dead letter says so, not the entry's first step."""
    rec = Recorder()
    rec.failed = JobStep.SUBMIT
    submits, prepares = counted("submit"), counted("prepare")

    await crash_until_buried(redis_client, key_prefix, rec, Job(JobStep.PREPARE, "f" * 32), 1)

    assert rec.dead == [Job(JobStep.PREPARE, "f" * 32)]
    (listed,) = await RedisDeadLetters(redis_client, prefix=key_prefix).jobs(10)
    assert (listed.step, listed.prompt_id, listed.deliveries) == ("submit", "f" * 32, 2)
    assert counted("submit") == submits + 1
    assert counted("prepare") == prepares


async def test_a_periodic_action_runs_on_one_worker_at_a_time(
    redis_client: Redis, key_prefix: str
) -> None:
    calls: list[float] = []
    stop = asyncio.Event()

    async def action() -> None:
        calls.append(time.monotonic())

    runners = [
        asyncio.create_task(
            run_periodically(
                redis_client, RedisKeys(key_prefix).reconciler_lock, 0.25, action, stop
            )
        )
        for _ in range(3)
    ]
    await until(lambda: len(calls) >= 3)
    stop.set()
    await asyncio.gather(*runners)

    assert all(b - a >= 0.22 for a, b in itertools.pairwise(calls))
