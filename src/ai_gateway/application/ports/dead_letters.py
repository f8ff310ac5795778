"""What gave up: jobs that crashed every worker, and callbacks whose every attempt failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DeadJob:
    """A job moved aside after ``deliveries`` runs; ``id`` names it among the dead letters."""

    id: str
    step: str
    prompt_id: str
    attempt: int
    deliveries: int
    at: datetime


class DeadLetters(Protocol):
    async def jobs(self, limit: int) -> Sequence[DeadJob]:
        """The newest dead-lettered jobs first."""
        ...

    async def job(self, job_id: str) -> DeadJob | None: ...

    async def forget_job(self, job_id: str) -> None:
        """Removes a dead-lettered job that was dealt with."""
        ...

    async def deliveries(self, limit: int) -> Sequence[str]:
        """The ids of the prompts whose callback was dead-lettered, most recent first."""
        ...
