"""Cancel a prompt that has no answer yet."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.clock import Clock, utc_now
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.principal import Principal
from ai_gateway.application.prompt_changes import change_prompt
from ai_gateway.application.visibility import load_to_change
from ai_gateway.domain.history import ActionName
from ai_gateway.domain.prompt import Prompt


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelPrompt(Command[Prompt]):
    """By the prompt's owner, or by an operator (``operator``) on any prompt."""

    principal: Principal
    prompt_id: str
    operator: bool = False


class CancelPromptHandler:
    """Moves the prompt to CANCELLED.

    Raises NotFound (absent or another caller's), Forbidden (another caller's, seen with the admin
    scope, outside the admin API), InvalidTransition (already settled). The history keeps who
    cancelled it. A race with
    a worker is retried on the fresh state, so the cancel lands unless the prompt settled meanwhile.
    """

    def __init__(self, prompts: PromptRepository, clock: Clock = utc_now) -> None:
        self._prompts = prompts
        self._clock = clock

    async def handle(self, command: CancelPrompt) -> Prompt:
        async def cancel(prompt: Prompt) -> bool:
            now = self._clock()
            prompt.cancel(now)
            prompt.record_action(ActionName.CANCEL, command.principal.owner, now)
            return True

        load = partial(
            load_to_change,
            self._prompts,
            command.principal,
            command.prompt_id,
            operator=command.operator,
        )
        return await change_prompt(self._prompts, load, cancel)
