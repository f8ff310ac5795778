"""Background jobs: one step of one prompt, run at least once by some worker."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

from ai_gateway.domain.prompt import Prompt


class JobStep(StrEnum):
    PREPARE = "prepare"
    SUBMIT = "submit"
    DELIVER = "deliver"


@dataclass(frozen=True, slots=True)
class Job:
    """One step of one prompt; ``attempt`` counts tries after transient failures. The job
    carries its prompt's trace context, so that every try of every step joins the prompt's trace.

    ``prompt``: the prompt as the step before left it, when this step follows that one in the
    same worker at once (a follow-up, never queued); the step need not read it again.
    """

    step: JobStep
    prompt_id: str
    attempt: int = 1
    traceparent: str | None = None
    tracestate: str | None = None
    prompt: Prompt | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, step: JobStep, prompt: Prompt, attempt: int = 1) -> Job:
        return cls(step, prompt.id, attempt, prompt.traceparent, prompt.tracestate)

    @classmethod
    def following(cls, step: JobStep, prompt: Prompt) -> Job:
        """The step that follows at once, with the prompt in hand."""
        return cls(step, prompt.id, 1, prompt.traceparent, prompt.tracestate, prompt)

    def retry(self) -> Job:
        return replace(self, attempt=self.attempt + 1, prompt=None)


class JobQueue(Protocol):
    """Durable jobs: each is run at least once, by any worker, ``delay`` seconds from now.

    The queue knows which prompts have a job waiting (queued, delayed or running), so that a job
    is added for a prompt only when none is: one chain of jobs per prompt.
    """

    async def enqueue(self, job: Job, delay: float = 0.0) -> None: ...

    async def enqueue_unless_waiting(self, job: Job) -> bool:
        """Queues ``job`` now unless its prompt has a job waiting; True when it was queued."""
        ...
