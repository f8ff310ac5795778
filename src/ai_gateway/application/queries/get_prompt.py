"""Read one prompt."""

from __future__ import annotations

from dataclasses import dataclass

from ai_gateway.application.errors import NotFound
from ai_gateway.application.mediator import Query
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.principal import Principal
from ai_gateway.domain.prompt import Prompt


async def load_visible(prompts: PromptRepository, principal: Principal, prompt_id: str) -> Prompt:
    """The prompt, if it exists and the caller may see it; otherwise NotFound (never Forbidden,
    so that ids of other callers' prompts cannot be probed)."""
    prompt = await prompts.get(prompt_id)
    if prompt is None or not principal.may_access(prompt.owner):
        raise NotFound("prompt", prompt_id)
    return prompt


@dataclass(frozen=True, slots=True, kw_only=True)
class GetPrompt(Query[Prompt]):
    principal: Principal
    prompt_id: str


class GetPromptHandler:
    def __init__(self, prompts: PromptRepository) -> None:
        self._prompts = prompts

    async def handle(self, query: GetPrompt) -> Prompt:
        return await load_visible(self._prompts, query.principal, query.prompt_id)
