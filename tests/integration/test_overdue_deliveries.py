"""A callback owed is never forgotten: the reconciler re-drives it, a hopeless one is dead-lettered.

Real Redis, real job workers, the real pipeline; only the receiver is scripted.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from ai_gateway.application.commands.reconcile_prompts import Reconciled, ReconcilePrompts
from ai_gateway.application.commands.record_response import RecordPromptResponse
from ai_gateway.application.jobs import FailureSettler
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.ports.clock import Clock
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.bootstrap.registry import (
    Ports,
    build_dispatcher,
    build_mediator,
)
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import DeliveryState
from ai_gateway.integration.genai.echo import EchoProvider
from ai_gateway.integration.redis_job_worker import JobWorker
from ai_gateway.integration.redis_jobs import RedisJobQueue
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from ai_gateway.integration.zip_archive import ZipArchiveReader
from tests.factories import walk
from tests.fakes import MemoryObjectStore, ScriptedCallbacks, ScriptedSource
from tests.integration.job_workers import never_dead
from tests.unit.pipeline import LIMITS, RULES
from tests.waiting import until

pytestmark = pytest.mark.integration

LATER = datetime.now(UTC) + timedelta(hours=1)  # every delivery owed looks overdue
GENAI = RULES.genai_service_identities


class Gateway:
    def __init__(self, redis: Redis, prefix: str, clock: Clock) -> None:
        self.prompts = RedisPromptRepository(redis, prefix=prefix)
        self.queue = RedisJobQueue(redis, prefix=prefix)
        self.callbacks = ScriptedCallbacks()
        self.mediator: Mediator = build_mediator(Ports(
            self.prompts, self.queue, MemoryObjectStore(), ScriptedSource(),
            ZipArchiveReader(LIMITS), EchoProvider(), self.callbacks, clock=clock,
        ), RULES)  # fmt: skip

    async def answered(self) -> Prompt:
        """A prompt answered by the GenAI service; its delivery job is queued."""
        prompt = Prompt.create(owner="apikey:mosaic", content="x", at=datetime.now(UTC),
                               callback_url="https://mosaic.example/cb")  # fmt: skip
        await self.prompts.add(walk(prompt, PromptStatus.SUBMITTED, datetime.now(UTC)))
        await self.mediator.send(
            RecordPromptResponse(prompt_id=prompt.id, content="Done.", metadata={}, answerer=GENAI)
        )
        return prompt

    async def stored(self, prompt: Prompt) -> Prompt:
        found = await self.prompts.get(prompt.id)
        assert found is not None
        return found


async def test_a_delivery_whose_job_was_lost_is_made_by_the_reconciler(
    redis_client: Redis, key_prefix: str
) -> None:
    now = Gateway(redis_client, key_prefix, lambda: datetime.now(UTC))
    later = Gateway(redis_client, key_prefix, lambda: LATER)
    prompt = await now.answered()
    await redis_client.xtrim(now.queue.stream, maxlen=0)  # the delivery job is lost

    assert await now.mediator.send(ReconcilePrompts()) == Reconciled(0, 0, redelivered=0)
    assert await later.mediator.send(ReconcilePrompts()) == Reconciled(0, 0, redelivered=1)
    assert await later.mediator.send(ReconcilePrompts()) == Reconciled(0, 0, redelivered=0)

    stop = asyncio.Event()
    worker = JobWorker(redis_client, now.queue, build_dispatcher(now.mediator), never_dead,
                       block_seconds=0.1)  # fmt: skip
    running = asyncio.create_task(worker.run(stop))

    async def responded() -> bool:
        return (await now.stored(prompt)).status is PromptStatus.RESPONDED

    await until(responded, what="the callback delivered")
    stop.set()
    await running

    assert now.callbacks.sent == [(prompt.id, "completed", f"msg_{prompt.id}")]
    assert await later.mediator.send(ReconcilePrompts()) == Reconciled(0, 0, redelivered=0)


async def test_a_delivery_job_that_crashes_every_worker_ends_dead_lettered(
    redis_client: Redis, key_prefix: str
) -> None:
    gateway = Gateway(redis_client, key_prefix, lambda: datetime.now(UTC))
    prompt = await gateway.answered()
    settler = FailureSettler(gateway.prompts, gateway.queue, RULES.retry,
                             lambda: datetime.now(UTC))  # fmt: skip

    async def crash(job: Job) -> None:
        assert job.step is JobStep.DELIVER
        raise RuntimeError("a defect outside every boundary")

    stop = asyncio.Event()
    worker = JobWorker(redis_client, gateway.queue, crash, settler.dead_letter,
                       claim_idle=0.2, max_deliveries=2, block_seconds=0.1)  # fmt: skip
    running = asyncio.create_task(worker.run(stop))

    async def dead_lettered() -> bool:
        delivery = (await gateway.stored(prompt)).delivery
        return delivery is not None and delivery.state is DeliveryState.DEAD_LETTERED

    await until(dead_lettered, what="the delivery dead-lettered")
    stop.set()
    await running

    stored = await gateway.stored(prompt)
    assert stored.delivery is not None
    assert (stored.delivery.attempts, stored.delivery.last_status) == (1, "internal_error")
    assert stored.status is PromptStatus.COMPLETED
    later = Gateway(redis_client, key_prefix, lambda: LATER)
    assert await later.mediator.send(ReconcilePrompts()) == Reconciled(0, 0, redelivered=0)
