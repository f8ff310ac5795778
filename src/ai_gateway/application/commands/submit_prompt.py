"""Submit a prompt to the GenAI provider.

PREPARED → SUBMITTED, and for a provider that answers at once → COMPLETED in the same write. The
provider is called *before* SUBMITTED is stored, with the prompt id as idempotency key: a worker
that dies mid-call leaves the prompt PREPARED, and the retry calls again with the same key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ai_gateway.application.callbacks import queue_delivery
from ai_gateway.application.jobs import FailureSettler
from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.clock import Clock
from ai_gateway.application.ports.genai import GenAiProvider, GenAiRequest
from ai_gateway.application.ports.jobs import Job, JobQueue
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.prompt_changes import change_stored_prompt
from ai_gateway.application.prompt_files import PromptFiles
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
        files: PromptFiles,
        settler: FailureSettler,
        clock: Clock,
        link_lifetime: timedelta,
    ) -> None:
        self._prompts = prompts
        self._queue = queue
        self._provider = provider
        self._files = files
        self._settler = settler
        self._clock = clock
        self._link_lifetime = link_lifetime

    async def handle(self, command: SubmitPrompt) -> None:
        await self._settler.run(command.job, self._submit(command.job))

    async def _submit(self, job: Job) -> None:
        prompt = await self._prompts.get(job.prompt_id)
        if prompt is None:
            return
        if prompt.delivery is None and await queue_delivery(self._queue, prompt):
            return  # answered, but its delivery job was never queued (the worker died in between)
        if prompt.status is not PromptStatus.PREPARED:
            return  # not ready, already submitted, or settled
        submitted_at = self._clock()  # the hand-over: before the provider works on it
        answer = await self._provider.submit(await self._request(prompt))
        response = None
        if answer is not None:
            response = PromptResponse.of(answer.content, answer.metadata, self._clock())
            await self._files.keep_answer(prompt.id, response)  # before the record says COMPLETED

        changed = False

        async def submitted(fresh: Prompt) -> bool:
            nonlocal changed
            changed = fresh.status is PromptStatus.PREPARED  # else cancelled, faulted or answered
            if changed:
                fresh.mark_submitted(submitted_at)
                if response is not None:
                    fresh.record_response(response)
            return changed

        stored = await change_stored_prompt(self._prompts, prompt.id, submitted, current=prompt)
        if changed and stored is not None:
            await queue_delivery(self._queue, stored)

    async def _request(self, prompt: Prompt) -> GenAiRequest:
        links = await self._files.links(prompt, self._link_lifetime)
        return GenAiRequest(prompt.id, prompt.kind, render(prompt), prompt.context, links)
