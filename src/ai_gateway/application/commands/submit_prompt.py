"""Submit a prompt to the GenAI provider.

PREPARED → SUBMITTED, and for a provider that answers at once → COMPLETED in the same write. The
provider is called *before* SUBMITTED is stored, with the prompt id as idempotency key: a worker
that dies mid-call leaves the prompt PREPARED, and the retry calls again with the same key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ai_gateway.application.commands.record_response import keep_answer
from ai_gateway.application.jobs import FailureSettler
from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.clock import Clock
from ai_gateway.application.ports.genai import GenAiProvider, GenAiRequest
from ai_gateway.application.ports.jobs import Job, JobQueue, JobStep
from ai_gateway.application.ports.objects import ObjectStore
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.prompt_changes import change_stored_prompt
from ai_gateway.application.templates import render
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import PromptResponse


@dataclass(frozen=True, slots=True)
class SubmitPrompt(Command[None]):
    job: Job


class SubmitPromptHandler:
    def __init__(
        self,
        prompts: PromptRepository,
        queue: JobQueue,
        provider: GenAiProvider,
        store: ObjectStore,
        settler: FailureSettler,
        clock: Clock,
        link_lifetime: timedelta,
    ) -> None:
        self._prompts = prompts
        self._queue = queue
        self._provider = provider
        self._store = store
        self._settler = settler
        self._clock = clock
        self._link_lifetime = link_lifetime

    async def handle(self, command: SubmitPrompt) -> None:
        await self._settler.run(command.job, self._submit(command.job))

    async def _submit(self, job: Job) -> None:
        prompt = await self._prompts.get(job.prompt_id)
        if prompt is not None and prompt.has_outcome_to_deliver and prompt.delivery is None:
            # answered, but the delivery job was never queued (the worker died in between)
            await self._queue.enqueue(Job(JobStep.DELIVER, prompt.id))
            return
        if prompt is None or prompt.status is not PromptStatus.PREPARED:
            return  # not ready, already submitted, or settled
        submitted_at = self._clock()  # the hand-over: before the provider works on it
        answer = await self._provider.submit(await self._request(prompt))
        response = None
        if answer is not None:
            response = PromptResponse.of(answer.content, answer.metadata, self._clock())
            await keep_answer(self._store, prompt.id, response)  # before the record says COMPLETED

        async def submitted(fresh: Prompt) -> bool:
            if fresh.status is not PromptStatus.PREPARED:
                return False  # cancelled, faulted or answered meanwhile
            fresh.mark_submitted(submitted_at)
            if response is not None:
                fresh.record_response(response)
            return True

        stored = await change_stored_prompt(self._prompts, prompt.id, submitted, current=prompt)
        if stored is not None and stored.status is PromptStatus.COMPLETED and stored.callback_url:
            await self._queue.enqueue(Job(JobStep.DELIVER, stored.id))

    async def _request(self, prompt: Prompt) -> GenAiRequest:
        links = []
        for ref in prompt.objects:
            link = await self._store.link(ref.key, self._link_lifetime)
            if link is not None:
                links.append(link)
        return GenAiRequest(prompt.id, prompt.kind, render(prompt), prompt.context, tuple(links))
