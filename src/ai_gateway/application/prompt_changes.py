"""Changing a stored prompt safely while workers and callers change it too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ai_gateway.application.errors import ConcurrencyConflict
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.domain.prompt import Prompt

SAVE_ATTEMPTS = 5

Change = Callable[[Prompt], Awaitable[bool]]


async def _change(
    prompts: PromptRepository, load: Callable[[], Awaitable[Prompt | None]], change: Change
) -> Prompt | None:
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        prompt = await load()
        if prompt is None or not await change(prompt):
            return prompt
        try:
            await prompts.save(prompt)
        except ConcurrencyConflict:
            if attempt == SAVE_ATTEMPTS:
                raise
            continue
        return prompt
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


async def change_prompt(
    prompts: PromptRepository, load: Callable[[], Awaitable[Prompt]], change: Change
) -> Prompt:
    """Loads the prompt, applies ``change`` and saves it; a save that loses the race to another
    writer is retried on the fresh state (``change`` runs again and may decide otherwise).
    ``change`` returns False when there is nothing to save. Raises what ``load`` and ``change``
    raise, and ConcurrencyConflict when every attempt lost."""
    prompt = await _change(prompts, load, change)
    assert prompt is not None  # noqa: S101 - ``load`` returns a prompt or raises
    return prompt


async def change_stored_prompt(
    prompts: PromptRepository, prompt_id: str, change: Change, current: Prompt | None = None
) -> Prompt | None:
    """As ``change_prompt``, for a prompt that may be gone (None then). ``current``, a copy
    already in hand, is tried first instead of reading the prompt again."""
    in_hand = [current] if current is not None else []

    async def load() -> Prompt | None:
        return in_hand.pop() if in_hand else await prompts.get(prompt_id)

    return await _change(prompts, load, change)
