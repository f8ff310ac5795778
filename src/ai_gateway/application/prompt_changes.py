"""Changing a stored prompt safely while workers and callers change it too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ai_gateway.application.errors import ConcurrencyConflict
from ai_gateway.application.ports import PromptRepository
from ai_gateway.domain.prompt import Prompt

SAVE_ATTEMPTS = 5


async def change_prompt(
    prompts: PromptRepository,
    load: Callable[[], Awaitable[Prompt]],
    change: Callable[[Prompt], Awaitable[bool]],
) -> Prompt:
    """Loads the prompt, applies ``change`` and saves it; a save that loses the race to another
    writer is retried on the fresh state (``change`` runs again and may decide otherwise).
    ``change`` returns False when there is nothing to save. Raises what ``load`` and ``change``
    raise, and ConcurrencyConflict when every attempt lost."""
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        prompt = await load()
        if not await change(prompt):
            return prompt
        try:
            await prompts.save(prompt)
        except ConcurrencyConflict:
            if attempt == SAVE_ATTEMPTS:
                raise
            continue
        return prompt
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
