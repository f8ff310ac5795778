"""Which prompts a caller may see (its own, or every one for an admin) and change (its own)."""

from __future__ import annotations

from ai_gateway.application.errors import Forbidden, NotFound
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


async def load_own(prompts: PromptRepository, principal: Principal, prompt_id: str) -> Prompt:
    """The prompt, to change it: NotFound as above, Forbidden for one the caller may only read."""
    prompt = await load_visible(prompts, principal, prompt_id)
    if not principal.may_change(prompt.owner):
        raise Forbidden("only the prompt's owner may change it; the admin scope only reads")
    return prompt
