"""The store of record for prompts, with its listing and idempotency types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from ai_gateway.application.ports.jobs import Job
from ai_gateway.application.ports.limits import Standing
from ai_gateway.domain.limits import CallerLimits
from ai_gateway.domain.prompt import Prompt, PromptStatus

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; ``next_cursor`` is None on the last page."""

    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """An Idempotency-Key, already scoped to its caller, and the fingerprint of its request."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What the first request with a key created."""

    prompt_id: str
    fingerprint: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Admission:
    """The limits a new prompt is admitted under: those of ``caller`` (ADR 0019)."""

    caller: str
    limits: CallerLimits


@dataclass(frozen=True, slots=True)
class Added:
    """What ``add`` did: stored the prompt (``earlier`` None), or found the idempotency claim
    taken (``earlier``, and nothing stored); ``standing`` is the caller's, after admission."""

    earlier: IdempotencyRecord | None = None
    standing: Standing | None = None


@dataclass(frozen=True, slots=True)
class PromptFilter:
    """Listing criteria; ``owner`` None lists every caller's prompts. A prompt created at or after
    ``created_after`` and before ``created_before`` is in the period."""

    owner: str | None
    status: PromptStatus | None = None
    kind: str | None = None
    request_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    def in_period(self, prompt: Prompt) -> bool:
        return (self.created_after is None or prompt.created_at >= self.created_after) and (
            self.created_before is None or prompt.created_at < self.created_before
        )

    def before_period(self, prompt: Prompt) -> bool:
        """Older than the period: in a newest-first listing, nothing after it can match."""
        return self.created_after is not None and prompt.created_at < self.created_after


class InvalidCursor(ValueError):
    pass


class PromptRepository(Protocol):
    """The store of record for prompts.

    ``save`` is a compare-and-set on ``prompt.version``: it raises ConcurrencyConflict when the
    stored version moved on, and bumps ``prompt.version`` when it wins.
    """

    async def add(
        self,
        prompt: Prompt,
        idempotency: IdempotencyClaim | None = None,
        admission: Admission | None = None,
        first_job: Job | None = None,
    ) -> Added:
        """Store a new prompt, and queue ``first_job`` in the same write: both or neither. With a
        claim already taken, store nothing and return its record. Raises AdmissionRefused, storing
        nothing, when the backlog is full or ``admission``'s limits refuse it; a replayed claim is
        not counted against them."""
        ...

    async def get(self, prompt_id: str) -> Prompt | None: ...

    async def save(self, prompt: Prompt) -> None: ...

    async def list(self, criteria: PromptFilter, limit: int, cursor: str | None) -> Page[Prompt]:
        """Newest first. Raises InvalidCursor for a cursor this store did not issue."""
        ...

    async def oldest(self, status: PromptStatus, limit: int) -> Sequence[Prompt]:
        """Up to ``limit`` prompts in ``status``, oldest first (for the reconciler)."""
        ...

    async def deliveries_due(self, before: datetime, limit: int) -> Sequence[Prompt]:
        """Up to ``limit`` prompts that await a delivery (``Prompt.awaits_delivery``) due before
        ``before``, most overdue first (for the reconciler). A delivery is due at its next
        attempt, or, with none planned, when the prompt was saved owing it."""
        ...
