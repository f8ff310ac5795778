"""The numbers a prompt's save files it under, beside its record (ADR 0018, 0023)."""

from __future__ import annotations

from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import DeliveryState


def delivery_due_ms(prompt: Prompt, now_ms: int) -> str:
    """When the callback the prompt owes is due: its next attempt, or now ('' when none)."""
    if not prompt.awaits_delivery:
        return ""
    planned = prompt.current_delivery.next_attempt_at
    return str(int(planned.timestamp() * 1000) if planned else now_ms)


def dead_letter_ms(prompt: Prompt) -> str:
    """When the prompt's callback was dead-lettered ('' when it was not)."""
    delivery = prompt.delivery
    if delivery is None or delivery.state is not DeliveryState.DEAD_LETTERED:
        return ""
    at = delivery.last_attempt_at or prompt.updated_at
    return str(int(at.timestamp() * 1000))


def answer_ms(prompt: Prompt) -> str:
    """Creation to answer, for the overview's percentiles, when the prompt is COMPLETED."""
    answered = prompt.timestamps.get(PromptStatus.COMPLETED)
    if prompt.status is not PromptStatus.COMPLETED or answered is None:
        return ""
    return str(max(int((answered - prompt.created_at).total_seconds() * 1000), 0))
