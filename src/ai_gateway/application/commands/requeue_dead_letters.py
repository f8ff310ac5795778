"""Requeue dead letters, one or many: a dead-lettered job's prompt is retried from the step that
failed (its callback delivered again, for a delivery job), a dead-lettered callback delivered
again. Each is an operator's action, kept in the prompt's history."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ai_gateway.application.commands.deliver_callback import RedeliverCallback
from ai_gateway.application.commands.retry_prompt import RetryPrompt
from ai_gateway.application.errors import ApplicationError, FieldError, NotFound
from ai_gateway.application.mediator import Command, Mediator
from ai_gateway.application.ports.dead_letters import DeadLetters
from ai_gateway.application.principal import Principal
from ai_gateway.application.visibility import require_operator
from ai_gateway.domain.errors import DomainError
from ai_gateway.domain.history import ActionName
from ai_gateway.domain.prompt import is_prompt_id

MAX_IDS = 100
JOB_PREFIX, DELIVERY_PREFIX = "job:", "delivery:"
_JOB_ID = re.compile(r"\d{1,20}-\d{1,20}")


class Outcome(StrEnum):
    REQUEUED = "requeued"
    NOT_FOUND = "not_found"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Requeued:
    id: str
    outcome: Outcome
    detail: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequeueDeadLetters(Command[tuple[Requeued, ...]]):
    """``ids`` as listed: ``job:<id>`` for a dead-lettered job, ``delivery:<prompt id>`` for a
    dead-lettered callback."""

    principal: Principal
    ids: tuple[str, ...]

    def validate(self) -> Sequence[FieldError]:
        if not 1 <= len(self.ids) <= MAX_IDS:
            return [FieldError("ids", f"give 1 to {MAX_IDS} ids")]
        wrong = [i for i in self.ids if not _well_formed(i)]
        if wrong:
            return [FieldError("ids", f"not a dead letter's id: {wrong[0][:80]!r}")]
        return ()


def _well_formed(dead_id: str) -> bool:
    if dead_id.startswith(JOB_PREFIX):
        return bool(_JOB_ID.fullmatch(dead_id.removeprefix(JOB_PREFIX)))
    return dead_id.startswith(DELIVERY_PREFIX) and is_prompt_id(
        dead_id.removeprefix(DELIVERY_PREFIX)
    )


class RequeueDeadLettersHandler:
    """Each id on its own: one that cannot be requeued (gone, or its prompt moved on) says why
    and leaves the others requeued. Raises Forbidden without the admin scope."""

    def __init__(self, mediator: Mediator, dead: DeadLetters) -> None:
        self._mediator = mediator
        self._dead = dead

    async def handle(self, command: RequeueDeadLetters) -> tuple[Requeued, ...]:
        require_operator(command.principal, "requeue dead letters")
        return tuple([await self._one(command.principal, i) for i in dict.fromkeys(command.ids)])

    async def _one(self, principal: Principal, dead_id: str) -> Requeued:
        kind, _, rest = dead_id.partition(":")
        try:
            if f"{kind}:" == DELIVERY_PREFIX:
                await self._redeliver(principal, rest)
                return Requeued(dead_id, Outcome.REQUEUED)
            job = await self._dead.job(rest)
            if job is None:
                return Requeued(dead_id, Outcome.NOT_FOUND, "no such dead-lettered job")
            if job.step == "deliver":
                await self._redeliver(principal, job.prompt_id)
            else:
                retry = RetryPrompt(
                    principal=principal, prompt_id=job.prompt_id, action=ActionName.REQUEUE
                )
                await self._mediator.send(retry)
            await self._dead.forget_job(rest)
            return Requeued(dead_id, Outcome.REQUEUED)
        except (ApplicationError, DomainError) as refused:
            outcome = Outcome.NOT_FOUND if isinstance(refused, NotFound) else Outcome.REFUSED
            return Requeued(dead_id, outcome, str(refused))

    async def _redeliver(self, principal: Principal, prompt_id: str) -> None:
        command = RedeliverCallback(principal=principal, prompt_id=prompt_id, operator=True)
        await self._mediator.send(command)
