"""Builders for the objects tests need, with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ai_gateway.application.principal import AuthMethod, Principal
from ai_gateway.domain.prompt import Prompt, PromptStatus

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def principal(name: str = "mosaic", *, admin: bool = False) -> Principal:
    return Principal(subject=name, method=AuthMethod.API_KEY, is_admin=admin)


def prompt_in(status: PromptStatus, *, owner: str = "apikey:mosaic") -> Prompt:
    """A prompt already in ``status``, as if it had walked there, with no pending events."""
    prompt = Prompt.create(owner=owner, content="Review this item", at=T0)
    prompt.status = status
    prompt.timestamps[status] = T0 + timedelta(seconds=1)
    prompt.pull_events()
    return prompt


class StepClock:
    """A clock that moves one millisecond per reading, so ordering by time is deterministic."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now
