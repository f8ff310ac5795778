"""What gave up, for an operator: dead-lettered jobs and dead-lettered callback deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ai_gateway.application.errors import FieldError
from ai_gateway.application.mediator import Query
from ai_gateway.application.ports.dead_letters import DeadJob, DeadLetters
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.principal import Principal
from ai_gateway.application.visibility import require_operator
from ai_gateway.domain.prompt import Prompt
from ai_gateway.domain.values import DeliveryState

MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class DeadLetterList:
    jobs: tuple[DeadJob, ...]
    deliveries: tuple[Prompt, ...]
    """The prompts whose callback was dead-lettered, most recent first."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ListDeadLetters(Query[DeadLetterList]):
    principal: Principal
    limit: int = 50

    def validate(self) -> Sequence[FieldError]:
        if not 1 <= self.limit <= MAX_LIMIT:
            return [FieldError("limit", f"must be between 1 and {MAX_LIMIT}")]
        return ()


class ListDeadLettersHandler:
    """Raises Forbidden without the admin scope."""

    def __init__(self, dead: DeadLetters, prompts: PromptRepository) -> None:
        self._dead = dead
        self._prompts = prompts

    async def handle(self, query: ListDeadLetters) -> DeadLetterList:
        require_operator(query.principal, "see the dead letters")
        jobs = await self._dead.jobs(query.limit)
        prompts = [await self._prompts.get(i) for i in await self._dead.deliveries(query.limit)]
        dead = tuple(
            p
            for p in prompts
            if p is not None and p.delivery and p.delivery.state is DeliveryState.DEAD_LETTERED
        )
        return DeadLetterList(tuple(jobs), dead)
