"""The worker: job consumers, the reconciler's turn and the event relay, until told to stop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from dishka import AsyncContainer, Provider, Scope, provide
from redis.asyncio import Redis

from ai_gateway.application.commands.ingest_events import RetryUnsettledEvents
from ai_gateway.application.commands.reconcile_prompts import ReconcilePrompts
from ai_gateway.application.jobs import FailureSettler, JobDispatcher
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.paced_submissions import PacedSubmissions
from ai_gateway.application.ports.pacing import ProviderPacer
from ai_gateway.bootstrap.container import build_container
from ai_gateway.integration.event_relay import EventRelay
from ai_gateway.integration.redis_connection import RetrySeconds
from ai_gateway.integration.redis_job_worker import JobWorker
from ai_gateway.integration.redis_jobs import RedisJobQueue
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.integration.redis_lock import run_periodically
from ai_gateway.settings import Settings


class WorkerProvider(Provider):
    """``concurrency``: jobs at once, ``WORKER_CONCURRENCY`` unless given (the in-process worker
    of ``serve`` has its own, ADR 0031)."""

    scope = Scope.APP

    def __init__(self, concurrency: int | None = None) -> None:
        super().__init__()
        self._concurrency = concurrency

    def _jobs_at_once(self, settings: Settings) -> int:
        return self._concurrency or settings.worker_concurrency

    @provide
    def redis_retry(self, settings: Settings) -> RetrySeconds:
        """A job's Redis command waits out a failover rather than fail its step, which would run
        the step again (a GenAI call again) once Redis is back."""
        return RetrySeconds(max(settings.redis_failover_seconds, settings.redis_timeout_seconds))

    @provide
    def worker(
        self,
        settings: Settings,
        redis: Redis,
        queue: RedisJobQueue,
        dispatcher: JobDispatcher,
        settler: FailureSettler,
    ) -> JobWorker:
        return JobWorker(
            redis,
            queue,
            dispatcher,
            settler.dead_letter,
            concurrency=self._jobs_at_once(settings),
            claim_idle=settings.job_claim_idle_seconds,
            max_deliveries=settings.job_max_deliveries,
        )

    @provide
    def paced(
        self, settings: Settings, pacer: ProviderPacer, mediator: Mediator
    ) -> PacedSubmissions:
        return PacedSubmissions(
            pacer, mediator, concurrency=self._jobs_at_once(settings), idle_seconds=0.5
        )


def build_worker_container(
    settings: Settings, *, overrides: Sequence[Provider] = ()
) -> AsyncContainer:
    """The container of a worker process: no HTTP, no authentication."""
    return build_container(settings, WorkerProvider(), overrides=overrides)


async def run_worker(container: AsyncContainer, settings: Settings, stop: asyncio.Event) -> None:
    """Works jobs, and takes a turn at the reconciler, until ``stop`` is set."""
    worker = await container.get(JobWorker)
    mediator = await container.get(Mediator)
    redis = await container.get(Redis)
    paced = await container.get(PacedSubmissions)

    async def reconcile() -> None:
        await mediator.send(ReconcilePrompts())
        await mediator.send(RetryUnsettledEvents())

    loops = [
        worker.run(stop, drain_seconds=settings.shutdown_grace_seconds),
        paced.run(stop),
        run_periodically(
            redis,
            RedisKeys(settings.redis_key_prefix).reconciler_lock,
            settings.reconcile_interval_seconds,
            reconcile,
            stop,
        ),
    ]
    if settings.cloud_event_sink:
        relay = EventRelay(
            redis,
            prefix=settings.redis_key_prefix,
            sink=settings.cloud_event_sink,
            source=settings.cloud_event_source,
            type_prefix=settings.cloud_event_type_prefix,
            mode=settings.cloud_event_mode,
        )
        loops.append(relay.run(stop))
    await asyncio.gather(*loops)
