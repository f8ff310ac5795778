"""Read one prompt."""

from __future__ import annotations

from dataclasses import dataclass

from ai_gateway.application.mediator import Query
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.principal import Principal
from ai_gateway.application.visibility import load_visible
from ai_gateway.domain.prompt import Prompt


@dataclass(frozen=True, slots=True, kw_only=True)
class GetPrompt(Query[Prompt]):
    principal: Principal
    prompt_id: str


class GetPromptHandler:
    def __init__(self, prompts: PromptRepository) -> None:
        self._prompts = prompts

    async def handle(self, query: GetPrompt) -> Prompt:
        return await load_visible(self._prompts, query.principal, query.prompt_id)
