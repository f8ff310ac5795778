"""Call the client back with a settled prompt's result (or its fault).

Attempts follow a schedule given by the composition root (Svix-like by default: 5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 10 h after the first try); a receiver's Retry-After is honoured; 410 Gone,
or a callback URL the egress guard refuses, stops at once. After the last attempt the delivery is
dead-lettered; its owner can ask for it again (RedeliverCallback). The receiver sees the same
``webhook-id`` on every attempt.

One chain of attempts per prompt: a job whose attempt was already made (a stale or duplicated job)
sends nothing, and a redelivery queues its first attempt only when the prompt has no job waiting.
The next attempt is queued before this one's outcome is saved, so a worker lost in between leaves
its job to run again and the chain goes on; a duplicate this makes is dropped as stale.

The attempt is this step's job boundary: whatever the sender raises (a refused token, a receiver
slower than the step deadline, a defect) counts as a failed attempt with its code, permanent
failures dead-letter at once, and a receiver's Retry-After is honoured up to a day.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from ai_gateway.application.errors import FieldError, PermanentFailure, ValidationFailed
from ai_gateway.application.jobs import as_step_failure, bounded_wait
from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.callbacks import CallbackOutcome, CallbackSender
from ai_gateway.application.ports.clock import Clock
from ai_gateway.application.ports.jobs import Job, JobQueue, JobStep
from ai_gateway.application.ports.operations import DeliveryMeter
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.principal import Principal
from ai_gateway.application.prompt_changes import change_prompt, change_stored_prompt
from ai_gateway.application.tracing import note, note_prompt, span
from ai_gateway.application.visibility import load_to_change
from ai_gateway.domain.history import ActionName
from ai_gateway.domain.prompt import Prompt
from ai_gateway.domain.values import Delivery, DeliveryState

logger = logging.getLogger("ai_gateway.callbacks")

ATTEMPT_DEADLINE = 120.0
LONGEST_RETRY_AFTER = 86_400.0


@dataclass(frozen=True, slots=True)
class DeliverCallback(Command[None]):
    job: Job


class DeliverCallbackHandler:
    def __init__(
        self,
        prompts: PromptRepository,
        queue: JobQueue,
        sender: CallbackSender,
        clock: Clock,
        schedule: Sequence[float],
        meter: DeliveryMeter | None = None,
    ) -> None:
        self._prompts = prompts
        self._queue = queue
        self._sender = sender
        self._clock = clock
        self._schedule = tuple(schedule)
        self._meter = meter

    async def handle(self, command: DeliverCallback) -> None:
        prompt = await self._prompts.get(command.job.prompt_id)
        if prompt is None or not prompt.has_outcome_to_deliver:
            return
        delivery = prompt.current_delivery
        if delivery.state is not DeliveryState.PENDING or command.job.attempt <= delivery.attempts:
            return
        note_prompt(prompt)
        with span("callback.deliver"):
            outcome = await self._attempt(command.job, prompt, delivery.webhook_id)
        now = self._clock()
        delay = None
        if outcome.delivered:
            note(outcome="delivered")
            delivery = delivery.attempted(outcome.status, now, state=DeliveryState.DELIVERED)
            self._count("delivered", delivery)
        elif outcome.final or delivery.attempts >= len(self._schedule):
            note(outcome="dead_lettered", fault_code=outcome.status)
            delivery = delivery.attempted(outcome.status, now, state=DeliveryState.DEAD_LETTERED)
            self._count("gone" if outcome.final else "dead_lettered", delivery)
            logger.warning("callback of %s dead-lettered after %d attempts (last: %s)",
                           prompt.id, delivery.attempts, outcome.status)  # fmt: skip
        else:
            note(outcome="retry", fault_code=outcome.status)
            planned = self._schedule[delivery.attempts]
            jittered = planned * random.uniform(0.9, 1.1)  # noqa: S311 - not for secrets
            delay = max(jittered, bounded_wait(outcome.retry_after, LONGEST_RETRY_AFTER))
            next_at = now + timedelta(seconds=delay)
            delivery = delivery.attempted(
                outcome.status, now, state=DeliveryState.PENDING, next_at=next_at
            )
            self._count("retried", delivery)
        if delay is not None:
            await self._queue.enqueue(Job.of(JobStep.DELIVER, prompt, delivery.attempts + 1), delay)
        await self._save(prompt, delivery)

    def _count(self, outcome: str, delivery: Delivery) -> None:
        if self._meter is not None:
            self._meter.callback_attempted(outcome, delivery.attempts)

    async def _attempt(self, job: Job, prompt: Prompt, webhook_id: str) -> CallbackOutcome:
        try:
            async with asyncio.timeout(ATTEMPT_DEADLINE):
                return await self._sender.send(prompt, webhook_id)
        except Exception as exc:  # the boundary: a failed attempt, never a failed job
            failure = as_step_failure(exc, job)
            final = isinstance(failure, PermanentFailure)
            return CallbackOutcome(delivered=False, status=failure.code, final=final)

    async def _save(self, prompt: Prompt, delivery: Delivery) -> None:
        async def record(fresh: Prompt) -> bool:
            fresh.record_delivery(delivery)
            return True

        await change_stored_prompt(self._prompts, prompt.id, record, current=prompt)


@dataclass(frozen=True, slots=True, kw_only=True)
class RedeliverCallback(Command[Prompt]):
    """By the prompt's owner, or by an operator (``operator``) on any prompt."""

    principal: Principal
    prompt_id: str
    operator: bool = False


class RedeliverCallbackHandler:
    """Starts the delivery of a settled prompt's callback over, from its first attempt.

    A delivery still under way is left as it is; either way its next attempt is queued only when
    the prompt has no job waiting, so concurrent calls make one chain of attempts, not several.
    A restart is kept in the history with who asked for it.
    """

    def __init__(self, prompts: PromptRepository, queue: JobQueue, clock: Clock) -> None:
        self._prompts = prompts
        self._queue = queue
        self._clock = clock

    async def handle(self, command: RedeliverCallback) -> Prompt:
        async def restart(prompt: Prompt) -> bool:
            if not prompt.has_outcome_to_deliver:
                reason = "has no callback_url" if not prompt.callback_url else "has no result yet"
                raise ValidationFailed([FieldError("prompt", f"the prompt {reason}")])
            current = prompt.current_delivery
            if prompt.delivery is not None and current.state is DeliveryState.PENDING:
                return False
            prompt.delivery = current.restarted()
            prompt.record_action(ActionName.REDELIVER, command.principal.owner, self._clock())
            return True

        load = partial(
            load_to_change,
            self._prompts,
            command.principal,
            command.prompt_id,
            operator=command.operator,
        )
        prompt = await change_prompt(self._prompts, load, restart)
        due = Job.of(JobStep.DELIVER, prompt, prompt.current_delivery.attempts + 1)
        await self._queue.enqueue_unless_waiting(due)
        return prompt
