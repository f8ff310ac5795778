"""What the templates show, shaped from the application's results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ai_gateway.domain.prompt import Prompt


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a prompt's life: when it was reached, and how long after the one before."""

    name: str
    at: datetime
    seconds: float | None


def timeline(prompt: Prompt) -> list[Step]:
    ordered = sorted(prompt.timestamps.items(), key=lambda item: item[1])
    steps: list[Step] = []
    previous: datetime | None = None
    for status, at in ordered:
        seconds = None if previous is None else (at - previous).total_seconds()
        steps.append(Step(status.value, at, seconds))
        previous = at
    return steps
