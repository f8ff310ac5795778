"""Which prompts a caller may see (its own, or every one for an admin) and change (its own; any,
through the admin API, for an operator: a caller with the admin scope)."""

from __future__ import annotations

from ai_gateway.application.errors import Forbidden, NotFound
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.principal import Principal
from ai_gateway.domain.prompt import Prompt


def require_operator(principal: Principal, doing: str) -> None:
    """Forbidden unless ``principal`` has the admin scope; ``doing`` is what it asked to do."""
    if not principal.is_admin:
        raise Forbidden(f"only an operator (the admin scope) may {doing}")


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


async def load_for_operator(
    prompts: PromptRepository, principal: Principal, prompt_id: str
) -> Prompt:
    """Any caller's prompt, for an operator to act on; Forbidden without the admin scope."""
    require_operator(principal, "act on any caller's prompt")
    prompt = await prompts.get(prompt_id)
    if prompt is None:
        raise NotFound("prompt", prompt_id)
    return prompt


async def load_to_change(
    prompts: PromptRepository, principal: Principal, prompt_id: str, *, operator: bool
) -> Prompt:
    """The prompt a command acts on: an operator's (any prompt) or its owner's (``load_own``)."""
    if operator:
        return await load_for_operator(prompts, principal, prompt_id)
    return await load_own(prompts, principal, prompt_id)
