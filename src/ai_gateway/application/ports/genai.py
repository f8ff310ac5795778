"""GenAI services: what they are asked and what they answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ai_gateway.domain.values import JsonObject, TokenUsage


@dataclass(frozen=True, slots=True)
class GenAiRequest:
    """What a GenAI service is asked: the rendered prompt, its context and links to its data."""

    prompt_id: str
    kind: str
    prompt: str
    context: JsonObject
    data_links: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GenAiAnswer:
    content: str
    metadata: JsonObject
    usage: TokenUsage | None = None
    """The tokens the provider says the prompt cost; None when it does not say."""


class GenAiProvider(Protocol):
    """A GenAI service. ``submit`` is idempotent per prompt id (a retry after a crash carries the
    same id); it returns the answer, or None when the answer will arrive later by itself.
    Raises TransientFailure or PermanentFailure."""

    name: str

    async def submit(self, request: GenAiRequest) -> GenAiAnswer | None: ...
