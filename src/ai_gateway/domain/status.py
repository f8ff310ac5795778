"""The statuses of a prompt and the one table of moves allowed between them."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final


class PromptStatus(StrEnum):
    CREATED = "created"
    PREPARING = "preparing"
    PREPARED = "prepared"
    SUBMITTED = "submitted"
    COMPLETED = "completed"
    RESPONDED = "responded"
    CANCELLED = "cancelled"
    FAULTED = "faulted"


S = PromptStatus

TRANSITIONS: Final[Mapping[PromptStatus, frozenset[PromptStatus]]] = {
    S.CREATED: frozenset({S.PREPARING, S.CANCELLED, S.FAULTED}),
    S.PREPARING: frozenset({S.PREPARED, S.CANCELLED, S.FAULTED}),
    S.PREPARED: frozenset({S.SUBMITTED, S.CANCELLED, S.FAULTED}),
    S.SUBMITTED: frozenset({S.COMPLETED, S.CANCELLED, S.FAULTED}),
    # The answer is in: it can no longer fail or be cancelled, only be delivered.
    S.COMPLETED: frozenset({S.RESPONDED}),
    S.RESPONDED: frozenset(),
    S.CANCELLED: frozenset(),
    S.FAULTED: frozenset(),
}

TERMINAL: Final = frozenset({S.COMPLETED, S.RESPONDED, S.CANCELLED, S.FAULTED})
"""Statuses whose outcome is settled; COMPLETED may still be marked RESPONDED once delivered."""
