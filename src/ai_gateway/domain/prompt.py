"""The Prompt entity and its status machine.

Every status change goes through ``Prompt._move``, which consults ``TRANSITIONS`` (the one table of
allowed moves, in ``domain.status``), stamps the time of the step and records the matching domain
event. The one way back is ``Prompt.retry``: an operator's decision, not a step of the pipeline,
so not in the table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from ai_gateway.domain.errors import InvalidTransition, ResponseAlreadyRecorded
from ai_gateway.domain.events import (
    PromptActionTaken,
    PromptCancelled,
    PromptDataProcessed,
    PromptEvent,
    PromptFaulted,
    PromptMoved,
    PromptPreparationStarted,
    PromptReceived,
    PromptResponded,
    PromptResponseReceived,
    PromptRetried,
    PromptSubmitted,
)
from ai_gateway.domain.history import Action, ActionName, Step, TimedStep, timeline
from ai_gateway.domain.limits import Priority
from ai_gateway.domain.status import TERMINAL, TRANSITIONS, PromptStatus, S
from ai_gateway.domain.values import (
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Fault,
    JsonObject,
    ObjectRef,
    PromptResponse,
    TokenUsage,
    validate_kind,
)

__all__ = [
    "DEFAULT_KIND",
    "ITEM_KIND",
    "PROVIDER_QUOTA",
    "TERMINAL",
    "TRANSITIONS",
    "Prompt",
    "PromptStatus",
    "S",
    "is_prompt_id",
    "new_prompt_id",
]

DEFAULT_KIND: Final = "generic"
PROVIDER_QUOTA: Final = "provider_quota"
"""``waiting_for`` of a prompt that waits its turn at a paced provider."""
ITEM_KIND: Final = "mosaic_item"


def new_prompt_id() -> str:
    return uuid.uuid4().hex


def is_prompt_id(value: str) -> bool:
    """Prompt ids are 32 lowercase hex digits."""
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


@dataclass(slots=True, kw_only=True)
class Prompt:
    """A GenAI prompt submitted by a caller, tracked from reception to delivery of its answer."""

    id: str
    kind: str
    content: str
    context: JsonObject
    owner: str
    callback_url: str | None = None
    data_url: str | None = None
    request_id: str | None = None
    metadata: JsonObject = field(default_factory=dict)
    priority: Priority = Priority.INTERACTIVE
    caller: str | None = None
    """The name the caller's limits go by (ADR 0019); None in records from before."""
    status: PromptStatus = PromptStatus.CREATED
    timestamps: dict[PromptStatus, datetime] = field(default_factory=dict)
    fault: Fault | None = None
    response: PromptResponse | None = None
    usage: TokenUsage | None = None
    objects: tuple[ObjectRef, ...] = ()
    delivery: Delivery | None = None
    provider: str | None = None
    waiting_for: str | None = None
    waiting_until: datetime | None = None
    history: list[Action] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    traceparent: str | None = None
    tracestate: str | None = None
    version: int = 0
    _events: list[PromptEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def create(  # noqa: PLR0913 - a prompt has this many independent inputs
        cls,
        *,
        owner: str,
        content: str,
        at: datetime,
        kind: str = DEFAULT_KIND,
        context: JsonObject | None = None,
        callback_url: str | None = None,
        data_url: str | None = None,
        request_id: str | None = None,
        metadata: JsonObject | None = None,
        priority: Priority = Priority.INTERACTIVE,
        caller: str | None = None,
        prompt_id: str | None = None,
        traceparent: str | None = None,
        tracestate: str | None = None,
    ) -> Prompt:
        """A new prompt in CREATED, with its PromptReceived event recorded. ``traceparent`` and
        ``tracestate`` are the W3C trace context of its creation, which its later work joins."""
        prompt = cls(
            id=prompt_id or new_prompt_id(),
            kind=validate_kind(kind),
            content=content,
            context=dict(context or {}),
            owner=owner,
            callback_url=callback_url,
            data_url=data_url,
            request_id=request_id,
            metadata=dict(metadata or {}),
            priority=priority,
            caller=caller,
            timestamps={PromptStatus.CREATED: at},
            steps=[Step(PromptStatus.CREATED.value, at)],
            traceparent=traceparent,
            tracestate=tracestate,
        )
        prompt._events.append(PromptReceived(prompt_id=prompt.id, occurred_at=at))
        return prompt

    @property
    def created_at(self) -> datetime:
        return self.timestamps[PromptStatus.CREATED]

    @property
    def updated_at(self) -> datetime:
        return max(self.timestamps.values())

    @property
    def timeline(self) -> tuple[TimedStep, ...]:
        return timeline(self.steps)

    @property
    def callback_attempts(self) -> tuple[DeliveryAttempt, ...]:
        return () if self.delivery is None else self.delivery.log

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def can_move_to(self, target: PromptStatus) -> bool:
        return target in TRANSITIONS[self.status]

    def start_preparing(self, at: datetime) -> None:
        self._move(at, PromptPreparationStarted(prompt_id=self.id, occurred_at=at))

    def mark_prepared(self, at: datetime, objects: tuple[ObjectRef, ...] = ()) -> None:
        self._move(at, PromptDataProcessed(prompt_id=self.id, occurred_at=at))
        self.objects = self.objects + objects

    def mark_submitted(self, at: datetime, provider: str | None = None) -> None:
        self._move(at, PromptSubmitted(prompt_id=self.id, occurred_at=at))
        self.provider = provider or self.provider

    def wait_for(self, reason: str, until: datetime | None) -> None:
        """A PREPARED prompt waits before its submission (``reason``), expected to go at
        ``until``; any change of status ends the wait."""
        if self.status is not S.PREPARED:
            raise InvalidTransition(self.id, self.status.value, self.status.value)
        self.waiting_for, self.waiting_until = reason, until

    def hand_to(self, provider: str) -> None:
        """The next submission goes to ``provider`` (a fallback of the one that is down)."""
        if self.status is not S.PREPARED:
            raise InvalidTransition(self.id, self.status.value, self.status.value)
        self.provider = provider

    def record_response(self, response: PromptResponse, usage: TokenUsage | None = None) -> bool:
        """Keep the GenAI answer, and the tokens it cost when known, and move to COMPLETED.

        Returns False, changing nothing, when this very answer is already recorded (a redelivery).
        Raises ResponseAlreadyRecorded for a different answer, InvalidTransition when not SUBMITTED.
        """
        if self.response is not None:
            if self.response.sha256 == response.sha256:
                return False
            raise ResponseAlreadyRecorded(self.id)
        at = response.created_at or self.updated_at
        event = PromptResponseReceived(
            prompt_id=self.id, occurred_at=at, response_sha256=response.sha256
        )
        self._move(at, event)
        self.response = response
        self.usage = usage
        return True

    def mark_responded(self, at: datetime) -> None:
        self._move(at, PromptResponded(prompt_id=self.id, occurred_at=at))

    def cancel(self, at: datetime) -> None:
        self._move(at, PromptCancelled(prompt_id=self.id, occurred_at=at))

    def fail(self, fault: Fault, at: datetime) -> None:
        event = PromptFaulted(
            prompt_id=self.id, occurred_at=at, code=fault.code, detail=fault.detail
        )
        self._move(at, event)
        self.fault = fault

    def retry(self, at: datetime) -> PromptStatus:
        """Takes a FAULTED prompt back to the step that failed: preparation (CREATED) unless it
        was prepared, else submission (PREPARED); its data objects are kept. A callback made for
        the fault is made again for the new outcome, under a new webhook id. Returns the status
        it resumes at; raises InvalidTransition unless FAULTED."""
        if self.status is not S.FAULTED:
            raise InvalidTransition(self.id, self.status.value, "retry")
        resume = S.PREPARED if S.PREPARED in self.timestamps else S.CREATED
        keep = {S.CREATED, resume}
        self.timestamps = {s: t for s, t in self.timestamps.items() if s in keep}
        self.status = resume
        self.fault = None
        self.waiting_for = self.waiting_until = None
        self.steps.append(Step(resume.value, at))
        if self.delivery is not None:
            retries = sum(a.name is ActionName.RETRY for a in self.history)
            self.delivery = self.delivery.restarted(f"msg_{self.id}_r{retries + 1}")
        self._events.append(PromptRetried(prompt_id=self.id, occurred_at=at, resumed_at=resume))
        return resume

    def record_action(self, name: ActionName, actor: str, at: datetime) -> None:
        """Keeps who acted on the prompt, and when, in its history."""
        self.history.append(Action(name, actor, at))
        self._events.append(
            PromptActionTaken(prompt_id=self.id, occurred_at=at, action=name, actor=actor)
        )

    @property
    def has_outcome_to_deliver(self) -> bool:
        """A callback is due: the prompt has a callback URL and a result or a fault to send."""
        return bool(self.callback_url) and self.status in {S.COMPLETED, S.FAULTED, S.RESPONDED}

    @property
    def awaits_delivery(self) -> bool:
        """A callback is owed and not settled: none attempted yet, or one under way."""
        return self.has_outcome_to_deliver and (
            self.delivery is None or self.delivery.state is DeliveryState.PENDING
        )

    @property
    def current_delivery(self) -> Delivery:
        """The delivery recorded, or the first one; the receiver sees one webhook id throughout."""
        return self.delivery or Delivery(f"msg_{self.id}")

    def give_up_delivery(self, status: str, at: datetime) -> bool:
        """Dead-letters a delivery that cannot be made; False when none is owed."""
        if not self.awaits_delivery:
            return False
        delivery = self.current_delivery
        self.delivery = delivery.attempted(status, at, state=DeliveryState.DEAD_LETTERED)
        return True

    def record_delivery(self, delivery: Delivery) -> None:
        """Keeps the delivery state; a delivered result moves a COMPLETED prompt to RESPONDED."""
        self.delivery = delivery
        if delivery.state is DeliveryState.DELIVERED and self.status is S.COMPLETED:
            at = delivery.last_attempt_at or self.updated_at
            self._move(at, PromptResponded(prompt_id=self.id, occurred_at=at))

    def pull_events(self) -> list[PromptEvent]:
        """Hand over the events recorded since the last call, forgetting them."""
        events, self._events = self._events, []
        return events

    def _move(self, at: datetime, event: PromptMoved) -> None:
        target = PromptStatus(event.status)
        if target not in TRANSITIONS[self.status]:
            raise InvalidTransition(self.id, self.status.value, target.value)
        self.status = target
        self.timestamps[target] = at
        self.waiting_for = self.waiting_until = None
        self.steps.append(Step(target.value, at))
        self._events.append(event)
