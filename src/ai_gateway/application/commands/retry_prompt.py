"""Retry a FAULTED prompt from the step that failed: an operator's action."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.clock import Clock
from ai_gateway.application.ports.jobs import Job, JobQueue, JobStep
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.principal import Principal
from ai_gateway.application.prompt_changes import change_prompt
from ai_gateway.application.visibility import load_for_operator
from ai_gateway.domain.history import ActionName
from ai_gateway.domain.prompt import Prompt, PromptStatus

_STEP_AT = {PromptStatus.CREATED: JobStep.PREPARE, PromptStatus.PREPARED: JobStep.SUBMIT}


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPrompt(Command[Prompt]):
    """``action`` is what the operator did: a retry, or the requeue of a dead-lettered job."""

    principal: Principal
    prompt_id: str
    action: ActionName = ActionName.RETRY


class RetryPromptHandler:
    """Takes the prompt back to the step that failed (``Prompt.retry``) and queues that step.

    Raises Forbidden without the admin scope, NotFound, InvalidTransition unless FAULTED. The
    step is queued only when the prompt has no job waiting, so concurrent retries make one chain.
    """

    def __init__(self, prompts: PromptRepository, queue: JobQueue, clock: Clock) -> None:
        self._prompts = prompts
        self._queue = queue
        self._clock = clock

    async def handle(self, command: RetryPrompt) -> Prompt:
        async def retry(prompt: Prompt) -> bool:
            now = self._clock()
            prompt.retry(now)
            prompt.record_action(command.action, command.principal.owner, now)
            return True

        load = partial(load_for_operator, self._prompts, command.principal, command.prompt_id)
        prompt = await change_prompt(self._prompts, load, retry)
        await self._queue.enqueue_unless_waiting(Job(_STEP_AT[prompt.status], prompt.id))
        return prompt
