"""When a client is called back: as soon as its prompt has an outcome to deliver."""

from __future__ import annotations

from ai_gateway.application.ports.jobs import Job, JobQueue, JobStep
from ai_gateway.domain.prompt import Prompt


async def queue_delivery(queue: JobQueue, prompt: Prompt) -> bool:
    """Queues the callback of a prompt that has a result or a fault for its callback URL
    (``Prompt.has_outcome_to_deliver``); False, queueing nothing, otherwise."""
    if not prompt.has_outcome_to_deliver:
        return False
    await queue.enqueue(Job.of(JobStep.DELIVER, prompt))
    return True
