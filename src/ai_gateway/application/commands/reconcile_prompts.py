"""Re-drive prompts whose job was lost, and fault those that waited too long for an answer.

A lost job must never mean a lost prompt: a prompt left in a working status for longer than
``stuck_after`` gets its step queued again, and a callback overdue by ``stuck_after`` gets its due
attempt queued, unless the prompt has a job waiting (a long backlog is not a lost job, and adding
another would double the work), or it waits in a paced provider's wait room or is being submitted
under its permit. A prompt SUBMITTED to an asynchronous provider for longer than
``answer_timeout`` is FAULTED with ``genai_timeout``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from ai_gateway.application.jobs import FailureSettler
from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.clock import Clock
from ai_gateway.application.ports.jobs import Job, JobQueue, JobStep
from ai_gateway.application.ports.pacing import ProviderPacer
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.domain.prompt import PromptStatus
from ai_gateway.domain.values import Fault

logger = logging.getLogger("ai_gateway.jobs")

REDRIVEN = {
    PromptStatus.CREATED: JobStep.PREPARE,
    PromptStatus.PREPARING: JobStep.PREPARE,
    PromptStatus.PREPARED: JobStep.SUBMIT,
}


@dataclass(frozen=True, slots=True)
class ReconcilePrompts(Command["Reconciled"]):
    pass


@dataclass(frozen=True, slots=True)
class Reconciled:
    redriven: int
    timed_out: int
    redelivered: int = 0


class ReconcilePromptsHandler:
    def __init__(
        self,
        prompts: PromptRepository,
        queue: JobQueue,
        settler: FailureSettler,
        clock: Clock,
        *,
        stuck_after: timedelta,
        answer_timeout: timedelta,
        batch: int = 200,
        pacer: ProviderPacer | None = None,
    ) -> None:
        self._prompts = prompts
        self._queue = queue
        self._settler = settler
        self._clock = clock
        self._stuck_after = stuck_after
        self._answer_timeout = answer_timeout
        self._batch = batch
        self._pacer = pacer

    async def handle(self, _: ReconcilePrompts) -> Reconciled:
        now = self._clock()
        redriven = timed_out = 0
        for status, step in REDRIVEN.items():
            stuck = [
                prompt
                for prompt in await self._prompts.oldest(status, self._batch)
                if now - prompt.updated_at > self._stuck_after
            ]
            if step is JobStep.SUBMIT and self._pacer is not None and stuck:
                held = await self._pacer.held([prompt.id for prompt in stuck])
                stuck = [prompt for prompt in stuck if prompt.id not in held]
            for prompt in stuck:
                redriven += await self._queue.enqueue_unless_waiting(Job.of(step, prompt))
        redelivered = 0
        for prompt in await self._prompts.deliveries_due(now - self._stuck_after, self._batch):
            job = Job.of(JobStep.DELIVER, prompt, prompt.current_delivery.attempts + 1)
            redelivered += await self._queue.enqueue_unless_waiting(job)
        for prompt in await self._prompts.oldest(PromptStatus.SUBMITTED, self._batch):
            waited = now - prompt.timestamps[PromptStatus.SUBMITTED]
            if waited > self._answer_timeout:
                detail = f"no answer from the GenAI service in {int(waited.total_seconds())} s"
                await self._settler.fault(prompt.id, Fault("genai_timeout", detail))
                timed_out += 1
        if redriven or timed_out or redelivered:
            logger.info("reconciler: %d prompts re-driven, %d deliveries re-driven, %d timed out",
                        redriven, redelivered, timed_out)  # fmt: skip
        return Reconciled(redriven, timed_out, redelivered)
