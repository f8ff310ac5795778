"""The reconciler and the job queue on a real Redis: a backlog is not a lost job."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from ai_gateway.application.commands.reconcile_prompts import Reconciled, ReconcilePrompts
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.bootstrap.registry import Ports, build_mediator
from ai_gateway.domain.prompt import Prompt
from ai_gateway.integration.genai.echo import EchoProvider
from ai_gateway.integration.redis_job_worker import JobWorker
from ai_gateway.integration.redis_jobs import RedisJobQueue
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from ai_gateway.integration.zip_archive import ZipArchiveReader
from tests.fakes import MemoryObjectStore, ScriptedCallbacks, ScriptedSource
from tests.integration.job_workers import never_dead
from tests.unit.pipeline import LIMITS, RULES
from tests.waiting import until

pytestmark = pytest.mark.integration

LATER = datetime.now(UTC) + timedelta(hours=1)  # every prompt looks stuck to the reconciler
A, B = "a" * 32, "b" * 32


async def reconcile(redis: Redis, prefix: str) -> Reconciled:
    mediator = build_mediator(Ports(
        RedisPromptRepository(redis, prefix=prefix), RedisJobQueue(redis, prefix=prefix),
        MemoryObjectStore(), ScriptedSource(), ZipArchiveReader(LIMITS), EchoProvider(),
        ScriptedCallbacks(), clock=lambda: LATER,
    ), RULES)  # fmt: skip
    return await mediator.send(ReconcilePrompts())


async def test_a_backlog_older_than_stuck_after_is_not_queued_twice(
    redis_client: Redis, key_prefix: str
) -> None:
    prompts = RedisPromptRepository(redis_client, prefix=key_prefix)
    queue = RedisJobQueue(redis_client, prefix=key_prefix)
    ids = []
    for i in range(30):
        prompt = Prompt.create(owner="apikey:mosaic", content=f"p{i}", at=datetime.now(UTC))
        await prompts.add(prompt)
        await queue.enqueue(Job(JobStep.PREPARE, prompt.id))
        ids.append(prompt.id)

    assert await reconcile(redis_client, key_prefix) == Reconciled(redriven=0, timed_out=0)
    assert await redis_client.xlen(queue.stream) == 30

    ran: list[str] = []

    async def forget(job: Job) -> None:  # a job that is lost: acknowledged, prompt untouched
        ran.append(job.prompt_id)

    stop = asyncio.Event()
    running = asyncio.create_task(
        JobWorker(redis_client, queue, forget, never_dead, block_seconds=0.1).run(stop)
    )

    async def drained() -> bool:
        return len(ran) == 30 and not await redis_client.xlen(queue.stream)

    await until(drained, what="the backlog worked off")
    stop.set()
    await running

    assert sorted(ran) == sorted(ids)
    assert await reconcile(redis_client, key_prefix) == Reconciled(redriven=30, timed_out=0)
    assert await reconcile(redis_client, key_prefix) == Reconciled(redriven=0, timed_out=0)


async def test_a_prompt_gets_a_job_only_when_it_has_none_waiting(
    redis_client: Redis, key_prefix: str
) -> None:
    queue = RedisJobQueue(redis_client, prefix=key_prefix)

    assert await queue.enqueue_unless_waiting(Job(JobStep.DELIVER, A))
    assert not await queue.enqueue_unless_waiting(Job(JobStep.DELIVER, A))
    assert not await queue.enqueue_unless_waiting(Job(JobStep.PREPARE, A))
    assert await queue.enqueue_unless_waiting(Job(JobStep.DELIVER, B))
    assert await redis_client.xlen(queue.stream) == 2


async def test_a_delayed_job_waits_until_it_has_run(redis_client: Redis, key_prefix: str) -> None:
    queue = RedisJobQueue(redis_client, prefix=key_prefix)
    await queue.enqueue(Job(JobStep.DELIVER, A, 2), delay=0.3)
    waiting = queue.keys.jobs_waiting(A)
    assert 86_400_000 < await redis_client.pttl(waiting) <= 86_400_300  # a day past its due time
    assert not await queue.enqueue_unless_waiting(Job(JobStep.DELIVER, A))

    release, started = asyncio.Event(), asyncio.Event()

    async def hold(job: Job) -> None:
        started.set()
        await release.wait()

    stop = asyncio.Event()
    running = asyncio.create_task(
        JobWorker(redis_client, queue, hold, never_dead, block_seconds=0.1).run(stop)
    )
    await asyncio.wait_for(started.wait(), 10)
    assert not await queue.enqueue_unless_waiting(Job(JobStep.DELIVER, A))  # running: waiting
    release.set()
    await until(_gone(redis_client, waiting), what="the job's token removed")
    stop.set()
    await running

    assert await queue.enqueue_unless_waiting(Job(JobStep.DELIVER, A))


async def test_a_job_lost_from_the_queue_does_not_count_as_waiting(
    redis_client: Redis, key_prefix: str
) -> None:
    queue = RedisJobQueue(redis_client, prefix=key_prefix)
    await queue.enqueue(Job(JobStep.DELIVER, A))
    await queue.enqueue(Job(JobStep.DELIVER, B, 3), delay=600)
    [(entry, _)] = await redis_client.xrange(queue.stream) or []
    await redis_client.xdel(queue.stream, str(entry))
    await redis_client.delete(queue.due)

    assert await queue.enqueue_unless_waiting(Job(JobStep.DELIVER, A))
    assert await queue.enqueue_unless_waiting(Job(JobStep.DELIVER, B))
    assert await redis_client.scard(queue.keys.jobs_waiting(A)) == 1
    assert await redis_client.scard(queue.keys.jobs_waiting(B)) == 1


def _gone(redis: Redis, key: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return not await redis.exists(key)

    return check
