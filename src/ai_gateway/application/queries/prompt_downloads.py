"""A prompt with links to download its data objects, for the people allowed to read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ai_gateway.application.mediator import Query
from ai_gateway.application.ports.objects import ObjectStore
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.principal import Principal
from ai_gateway.application.visibility import load_visible
from ai_gateway.domain.prompt import Prompt
from ai_gateway.domain.values import ObjectRef


@dataclass(frozen=True, slots=True)
class Download:
    """A data object and a time-limited link to it (None: the store gives no links)."""

    ref: ObjectRef
    url: str | None


@dataclass(frozen=True, slots=True)
class PromptDownloads:
    """The prompt as read once for its links: a page showing both reads Redis once."""

    prompt: Prompt
    downloads: tuple[Download, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class GetPromptDownloads(Query[PromptDownloads]):
    principal: Principal
    prompt_id: str


class GetPromptDownloadsHandler:
    def __init__(self, prompts: PromptRepository, store: ObjectStore, lifetime: timedelta) -> None:
        self._prompts = prompts
        self._store = store
        self._lifetime = lifetime

    async def handle(self, query: GetPromptDownloads) -> PromptDownloads:
        prompt = await load_visible(self._prompts, query.principal, query.prompt_id)
        links = [await self._store.link(ref.key, self._lifetime) for ref in prompt.objects]
        return PromptDownloads(prompt, tuple(map(Download, prompt.objects, links)))
