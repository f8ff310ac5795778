"""A job carries its prompt's trace through the Redis queue: queued, delayed and retried, the step
runs in a span of the prompt's trace."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from redis.asyncio import Redis

from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.integration.redis_job_worker import JobWorker
from ai_gateway.integration.redis_jobs import RedisJobQueue
from tests.integration.job_workers import never_dead
from tests.spans import named, trace_id
from tests.waiting import until

pytestmark = pytest.mark.integration

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"


async def run_jobs(redis: Redis, prefix: str, *queued: tuple[Job, float]) -> list[Job]:
    """Queues each job with its delay and runs a worker until it has handled them all."""
    queue, stop, ran = RedisJobQueue(redis, prefix=prefix), asyncio.Event(), []

    async def handle(job: Job) -> None:
        ran.append(job)

    worker = JobWorker(redis, queue, handle, never_dead, block_seconds=0.1)
    running = asyncio.create_task(worker.run(stop))
    for job, delay in queued:
        await queue.enqueue(job, delay=delay)
    await until(lambda: len(ran) == len(queued))
    stop.set()
    await running
    return ran


async def test_queued_and_delayed_jobs_run_in_their_prompts_trace(
    redis_client: Redis, key_prefix: str, spans: InMemorySpanExporter
) -> None:
    job = Job(JobStep.PREPARE, "a" * 32, 1, f"00-{TRACE}-{PARENT}-01", "vendor=opaque")

    ran = await run_jobs(redis_client, key_prefix, (job, 0.0), (job.retry(), 0.2))

    assert ran == [job, job.retry()]
    steps = named("prepare")
    assert [trace_id(s) for s in steps] == [TRACE, TRACE]
    assert {s.parent.span_id for s in steps if s.parent} == {int(PARENT, 16)}
    assert [s.attributes["ai_gateway.attempt"] for s in steps if s.attributes] == [1, 2]
    assert {s.attributes["ai_gateway.outcome"] for s in steps if s.attributes} == {"done"}


async def test_an_untraced_job_starts_a_trace_of_its_own(
    redis_client: Redis, key_prefix: str, spans: InMemorySpanExporter
) -> None:
    job = Job(JobStep.SUBMIT, "b" * 32)

    assert await run_jobs(redis_client, key_prefix, (job, 0.0)) == [job]
    (step,) = named("submit")
    assert step.parent is None
