"""The numbers on an operator's overview, read from counters kept as prompts move (no scans)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OverviewNumbers:
    last_hour: dict[str, int]
    """How many prompts entered each status in the last hour (by the minute)."""
    last_day: dict[str, int]
    """The same over the last day (by the hour: the current one and the 23 before)."""
    completions_per_minute: tuple[int, ...]
    """Answers received in each of the last 60 minutes, oldest first."""
    answer_seconds_p50: float | None
    answer_seconds_p95: float | None
    answers_sampled: int
    """How many of the latest creation-to-answer times the percentiles are over."""
    jobs_queued: int
    jobs_delayed: int
    queue_lag_seconds: float
    """How long the oldest job in the queue has waited; 0 when it is empty."""
    dead_jobs: int
    dead_deliveries: int
    outbox_backlog: int


class OverviewSource(Protocol):
    async def read(self, now: datetime) -> OverviewNumbers: ...
