"""Background jobs: one step of one prompt, run at least once by some worker."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class JobStep(StrEnum):
    PREPARE = "prepare"
    SUBMIT = "submit"
    DELIVER = "deliver"


@dataclass(frozen=True, slots=True)
class Job:
    """One step of one prompt; ``attempt`` counts tries after transient failures."""

    step: JobStep
    prompt_id: str
    attempt: int = 1

    def retry(self) -> Job:
        return Job(self.step, self.prompt_id, self.attempt + 1)


class JobQueue(Protocol):
    """Durable jobs: each is run at least once, by any worker, ``delay`` seconds from now."""

    async def enqueue(self, job: Job, delay: float = 0.0) -> None: ...
