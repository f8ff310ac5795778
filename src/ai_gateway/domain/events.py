"""Domain events: one per prompt transition, named in the past tense.

``step`` is the name a lifecycle CloudEvent type is built from, by ``prompt_event_type``; a
``PromptMoved`` event also names the prompt status it enters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Final

GENAI_ANSWER_EVENT: Final = "genai.prompt.response"
"""The name of the received event that carries a GenAI answer, under the deployment's prefix."""
CALLER_LIMITS_CHANGED: Final = "caller.limits.changed"
"""The name of the event an administrator's change of a caller's limits sends (ADR 0019)."""


def cloud_event_type(prefix: str, name: str) -> str:
    """The CloudEvent ``type`` of ``name`` under the deployment's ``prefix``. Subscribers route on
    the whole string, so the version suffix is written here and nowhere else."""
    return f"{prefix}.{name}.v1"


def prompt_event_type(prefix: str, step: str) -> str:
    """The type of a prompt's lifecycle event or callback: ``{prefix}.prompt.{step}.v1``."""
    return cloud_event_type(prefix, f"prompt.{step}")


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptEvent:
    """Something that happened to a prompt."""

    step: ClassVar[str]
    prompt_id: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptMoved(PromptEvent):
    """The prompt entered ``status``."""

    status: ClassVar[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptReceived(PromptMoved):
    step: ClassVar[str] = "received"
    status: ClassVar[str] = "created"


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptPreparationStarted(PromptMoved):
    step: ClassVar[str] = "preparing"
    status: ClassVar[str] = "preparing"


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptDataProcessed(PromptMoved):
    step: ClassVar[str] = "data.processed"
    status: ClassVar[str] = "prepared"


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptSubmitted(PromptMoved):
    step: ClassVar[str] = "submitted"
    status: ClassVar[str] = "submitted"


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptResponseReceived(PromptMoved):
    step: ClassVar[str] = "response.received"
    status: ClassVar[str] = "completed"
    response_sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptResponded(PromptMoved):
    step: ClassVar[str] = "responded"
    status: ClassVar[str] = "responded"


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptCancelled(PromptMoved):
    step: ClassVar[str] = "cancelled"
    status: ClassVar[str] = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptFaulted(PromptMoved):
    step: ClassVar[str] = "faulted"
    status: ClassVar[str] = "faulted"
    code: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptRetried(PromptEvent):
    """A FAULTED prompt goes back to the step that failed (``resumed_at`` is its status)."""

    step: ClassVar[str] = "retried"
    resumed_at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptActionTaken(PromptEvent):
    """A caller or an operator acted on the prompt; its history says who, what and when."""

    step: ClassVar[str] = "action"
    action: str
    actor: str


_MOVES: Final = (
    PromptReceived, PromptPreparationStarted, PromptDataProcessed, PromptSubmitted,
    PromptResponseReceived, PromptResponded, PromptCancelled, PromptFaulted,
)  # fmt: skip
_STEP_ENTERING: Final = {move.status: move.step for move in _MOVES}


def lifecycle_steps(statuses: Sequence[str]) -> tuple[str, ...]:
    """The step of the lifecycle event the prompt published on entering each of ``statuses``,
    in the order entered: the move's own, or ``retried`` for a status an operator's retry took
    it back to out of FAULTED."""
    before = [None, *statuses]
    return tuple(
        PromptRetried.step if previous == PromptFaulted.status else _STEP_ENTERING[status]
        for previous, status in zip(before, statuses, strict=False)
    )
