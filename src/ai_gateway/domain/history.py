"""What happened to a prompt, for the people looking after it: the steps it went through, with
their times, and the actions callers and operators took on it, with who and when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any

from ai_gateway.domain.values import JsonObject


class ActionName(StrEnum):
    CANCEL = "cancel"
    REDELIVER = "redeliver"
    RETRY = "retry"
    REQUEUE = "requeue"


@dataclass(frozen=True, slots=True)
class Action:
    """An action taken on a prompt: ``actor`` is the owner id of who took it."""

    name: ActionName
    actor: str
    at: datetime

    def to_json(self) -> JsonObject:
        return {"name": self.name.value, "actor": self.actor, "at": self.at.isoformat()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Action:
        return cls(ActionName(data["name"]), data["actor"], datetime.fromisoformat(data["at"]))


@dataclass(frozen=True, slots=True)
class Step:
    """The prompt entered ``status`` at ``at``; a retried prompt enters a status again."""

    status: str
    at: datetime

    def to_json(self) -> JsonObject:
        return {"status": self.status, "at": self.at.isoformat()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Step:
        return cls(data["status"], datetime.fromisoformat(data["at"]))


@dataclass(frozen=True, slots=True)
class TimedStep:
    """A step of the timeline; ``seconds`` it lasted, None for the step the prompt is in."""

    status: str
    at: datetime
    seconds: float | None


def timeline(steps: Sequence[Step]) -> tuple[TimedStep, ...]:
    """Every step in the order taken, with how long it lasted, until the next one began. Steps
    stamped by different processes' clocks may be out of order by a little: no negative time."""
    timed = [
        TimedStep(step.status, step.at, max((after.at - step.at).total_seconds(), 0.0))
        for step, after in pairwise(steps)
    ]
    if steps:
        timed.append(TimedStep(steps[-1].status, steps[-1].at, None))
    return tuple(timed)
