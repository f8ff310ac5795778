"""What every background step shares: the retry policy and how a failed step ends.

The job boundary (``FailureSettler.run``) is where every failure of a step settles: adapters
translate their own failures into the step failure tree, and whatever still arrives untranslated
is settled here too, so that no job raises, crashes again on every delivery, or repeats its side
effects. A step that overruns ``RetryPolicy.step_deadline`` is a transient ``step_timeout``, and one
that lost a race to another writer a transient ``concurrent_change``; any
other untranslated error is a defect, logged with its traceback and settled as a permanent
``internal_error`` (retrying a defect would only repeat downloads and provider calls).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from ai_gateway.application.callbacks import queue_delivery
from ai_gateway.application.errors import (
    ConcurrencyConflict,
    DependencyUnavailable,
    PermanentFailure,
    StepFailure,
    TransientFailure,
)
from ai_gateway.application.mediator import Command, Mediator
from ai_gateway.application.ports.clock import Clock
from ai_gateway.application.ports.jobs import Job, JobQueue, JobStep
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.prompt_changes import change_stored_prompt
from ai_gateway.application.tracing import note_fault
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import Fault

logger = logging.getLogger("ai_gateway.jobs")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, honouring a server's Retry-After, up to a limit."""

    max_attempts: int
    base_seconds: float
    max_seconds: float
    step_deadline: float = 900.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        backoff = min(self.max_seconds, self.base_seconds * 2.0 ** (attempt - 1))
        jittered = backoff / 2 + random.uniform(0, backoff / 2)  # noqa: S311 - not for secrets
        return max(jittered, bounded_wait(retry_after, self.max_seconds * 4))


def bounded_wait(seconds: float | None, limit: float) -> float:
    """A server's requested wait as a delay that can be scheduled: 0 for none, a negative or a
    NaN, at most ``limit`` (a Retry-After of 10**400 is infinity once parsed)."""
    if seconds is None or not seconds > 0:
        return 0.0
    return min(seconds, limit)


def as_step_failure(exc: Exception, job: Job | None = None) -> StepFailure:
    """Any failure of a step, as a step failure; never raises."""
    if isinstance(exc, StepFailure):
        return exc
    if isinstance(exc, DependencyUnavailable):
        code = exc.dependency.lower().replace(" ", "_")
        return TransientFailure(f"{code}_unavailable", str(exc))
    step = job.step.value if job is not None else "background"
    if isinstance(exc, ConcurrencyConflict):  # a lost race: the next attempt reads afresh
        return TransientFailure(
            "concurrent_change", f"prompt {exc.prompt_id} was changed meanwhile"
        )
    if isinstance(exc, TimeoutError):
        return TransientFailure("step_timeout", f"the {step} step did not finish in time")
    logger.error("the %s step of %s failed inside the gateway", step,
                 job.prompt_id if job else "?", exc_info=exc)  # fmt: skip
    return PermanentFailure("internal_error", f"the {step} step failed inside the gateway")


class FailureSettler:
    """Retries a job after a transient failure, or faults its prompt when retrying cannot help."""

    def __init__(
        self, prompts: PromptRepository, queue: JobQueue, policy: RetryPolicy, clock: Clock
    ) -> None:
        self._prompts = prompts
        self._queue = queue
        self._policy = policy
        self._clock = clock

    async def run(self, job: Job, work: Awaitable[T]) -> T | None:
        """The job boundary: ``work`` finishes within the step deadline, or its failure settles
        ``job`` (None then). Only an unreachable store (the failure cannot be recorded) escapes,
        so that the job is delivered again."""
        try:
            async with asyncio.timeout(self._policy.step_deadline):
                return await work
        except Exception as exc:  # the boundary: every failure settles the job
            await self.settle(job, as_step_failure(exc, job))
            return None

    def is_last_attempt(self, job: Job) -> bool:
        """Whether a transient failure of ``job`` would fault its prompt instead of retrying."""
        return job.attempt >= self._policy.max_attempts

    async def settle(self, job: Job, failure: StepFailure) -> None:
        if isinstance(failure, TransientFailure) and not self.is_last_attempt(job):
            note_fault(failure.code, final=False)
            delay = self._policy.delay(job.attempt, failure.retry_after)
            logger.info("%s of %s failed (%s), retry %d in %.1f s", job.step, job.prompt_id,
                        failure.code, job.attempt + 1, delay)  # fmt: skip
            await self._queue.enqueue(job.retry(), delay)
            return
        detail = failure.detail
        if not isinstance(failure, PermanentFailure):
            detail = f"gave up after {job.attempt} attempts: {detail}"
        note_fault(failure.code, final=True)
        logger.warning("%s of %s failed for good: %s", job.step, job.prompt_id, failure.code)
        await self.fault(job.prompt_id, Fault(failure.code, detail))

    async def fault(self, prompt_id: str, fault: Fault | Callable[[Prompt], Fault]) -> None:
        """Moves the prompt to FAULTED unless it has settled meanwhile; a client waiting on a
        callback is told. ``fault`` may be made from the prompt as it is read."""
        faulted = False

        async def fail(prompt: Prompt) -> bool:
            nonlocal faulted
            made = fault if isinstance(fault, Fault) else fault(prompt)  # made from every read
            faulted = not prompt.is_terminal
            if faulted:
                prompt.fail(made, self._clock())
            return faulted

        prompt = await change_stored_prompt(self._prompts, prompt_id, fail)
        if faulted and prompt is not None:
            await queue_delivery(self._queue, prompt)

    async def dead_letter(self, job: Job) -> JobStep:
        """A job that crashed every worker: its prompt is faulted, or, for a delivery, the
        delivery is dead-lettered (its prompt settled already), visible on the prompt. Returns
        the step that failed, which for a preparation's entry may be the submission that
        followed it (ADR 0032)."""
        if job.step is not JobStep.DELIVER:
            failed: JobStep = job.step

            def failed_step(prompt: Prompt) -> Fault:
                nonlocal failed  # judged on every read: a lost race reads the prompt again
                failed = _failed_step(job, prompt)
                detail = f"the {failed} step failed repeatedly inside the gateway"
                return Fault("internal_error", detail)

            await self.fault(job.prompt_id, failed_step)
            return failed

        given_up = False

        async def give_up(prompt: Prompt) -> bool:
            nonlocal given_up
            stale = job.attempt <= prompt.current_delivery.attempts  # the chain went on
            given_up = not stale and prompt.give_up_delivery("internal_error", self._clock())
            return given_up

        await change_stored_prompt(self._prompts, job.prompt_id, give_up)
        if given_up:
            logger.warning("callback of %s dead-lettered: its job failed repeatedly", job.prompt_id)
        return job.step


def _failed_step(job: Job, prompt: Prompt) -> JobStep:
    """The step that crashed under ``job``'s entry: a prepared prompt's submission, which runs
    under its preparation's entry (ADR 0032), else the entry's own."""
    if job.step is JobStep.PREPARE and prompt.status is PromptStatus.PREPARED:
        return JobStep.SUBMIT
    return job.step


class JobDispatcher:
    """Runs a job by sending its step's command through the mediator; returns the step that
    follows at once in the same worker (``Job.following``), if any."""

    def __init__(
        self,
        mediator: Mediator,
        commands: Mapping[JobStep, Callable[[Job], Command[Job | None]]],
    ) -> None:
        self._mediator = mediator
        self._commands = commands

    async def __call__(self, job: Job) -> Job | None:
        return await self._mediator.send(self._commands[job.step](job))
