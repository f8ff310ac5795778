"""Submit a prompt to the GenAI provider.

PREPARED → SUBMITTED, and for a provider that answers at once → COMPLETED in the same write. The
provider is called *before* SUBMITTED is stored, with the prompt id as idempotency key: a worker
that dies mid-call leaves the prompt PREPARED, and the retry calls again with the same key.

A paced provider (ADR 0020) is called only with a permit. Without one, the prompt waits in the
provider's wait room, its record saying so, and its job ends: the worker's pacing loop takes it
from the room, in fair order, when the limits allow, and sends it back here with its permit.
Waiting burns no attempt. A provider's ``Retry-After`` pauses it for every worker, and a provider
still down after the last attempt hands the prompt to the next of PROVIDER_FALLBACKS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ai_gateway.application.callbacks import queue_delivery
from ai_gateway.application.errors import TransientFailure
from ai_gateway.application.jobs import FailureSettler
from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.clock import Clock
from ai_gateway.application.ports.genai import GenAiAnswer, GenAiProvider, GenAiRequest
from ai_gateway.application.ports.jobs import Job, JobQueue, JobStep
from ai_gateway.application.ports.pacing import CallerShares, Permit, ProviderPacer
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.prompt_changes import change_stored_prompt
from ai_gateway.application.prompt_files import PromptFiles
from ai_gateway.application.templates import render
from ai_gateway.application.tracing import note_answer, note_prompt, prompt_trace, span
from ai_gateway.domain.prompt import PROVIDER_QUOTA, Prompt, PromptStatus
from ai_gateway.domain.values import PromptResponse, TokenUsage


@dataclass(frozen=True, slots=True)
class SubmitPrompt(Command[None]):
    job: Job
    permit: Permit | None = None  # handed out by the wait room of a paced provider


@dataclass(frozen=True, slots=True)
class Pacing:
    """The shared limits of the paced providers, and each caller's share of them."""

    pacer: ProviderPacer
    shares: CallerShares


class SubmitPromptHandler:
    def __init__(
        self,
        prompts: PromptRepository,
        queue: JobQueue,
        providers: Sequence[GenAiProvider],
        files: PromptFiles,
        settler: FailureSettler,
        clock: Clock,
        link_lifetime: timedelta,
        pacing: Pacing | None = None,
    ) -> None:
        """``providers``: the one to use first, then the fallbacks in order."""
        self._prompts = prompts
        self._queue = queue
        self._providers = {provider.name: provider for provider in providers}
        self._order = [provider.name for provider in providers]
        self._files = files
        self._settler = settler
        self._clock = clock
        self._link_lifetime = link_lifetime
        self._pacing = pacing

    async def handle(self, command: SubmitPrompt) -> None:
        await self._settler.run(command.job, self._submit(command.job, command.permit))

    def submits_at_once(self, prompt: Prompt) -> bool:
        """Whether the prompt's provider takes it without waiting for a permit (not paced)."""
        pacing = self._pacing
        return pacing is None or not pacing.pacer.paces(self._provider_of(prompt).name)

    def _provider_of(self, prompt: Prompt) -> GenAiProvider:
        return self._providers.get(prompt.provider or "") or self._providers[self._order[0]]

    async def _submit(self, job: Job, permit: Permit | None) -> None:
        prompt = await self._ready(job)
        if prompt is None:
            if permit is not None:
                await self._release(permit)
            return
        if permit is None:
            await self._submit_ready(job, prompt, permit)
            return
        # Taken from a wait room, outside the job that queued it: it joins its prompt's trace here.
        with span("submit", prompt_trace(prompt), step="submit", attempt=job.attempt):
            await self._submit_ready(job, prompt, permit)

    async def _submit_ready(self, job: Job, prompt: Prompt, permit: Permit | None) -> None:
        note_prompt(prompt)
        provider = self._provider_of(prompt)
        if permit is None and self._pacing and self._pacing.pacer.paces(provider.name):
            permit = await self._admit(job, prompt, provider.name)
            if permit is None:
                return  # it waits its turn in the room
        submitted_at = self._clock()  # the hand-over: before the provider works on it
        try:
            answer = await self._call(prompt, provider, permit)
        except TransientFailure:
            if not self._settler.is_last_attempt(job) or not await self._fall_back(prompt):
                raise
            return
        response = None
        if answer is not None:
            response = PromptResponse.of(answer.content, answer.metadata, self._clock())
            with span("object_store.write"):  # before the record says COMPLETED
                await self._files.keep_answer(prompt.id, response)
        usage = None if answer is None else answer.usage
        await self._record(prompt, provider.name, submitted_at, response, usage)

    async def _ready(self, job: Job) -> Prompt | None:
        """The prompt, when it is PREPARED and owes no callback job; the one in hand when the
        step follows its preparation at once (a later writer still fails the save's check)."""
        prompt = job.prompt or await self._prompts.get(job.prompt_id)
        if prompt is None:
            return None
        if prompt.delivery is None and await queue_delivery(self._queue, prompt):
            return None  # answered, but its delivery job was never queued (the worker died)
        return prompt if prompt.status is PromptStatus.PREPARED else None

    async def _admit(self, job: Job, prompt: Prompt, provider: str) -> Permit | None:
        assert self._pacing is not None  # noqa: S101 - only paced providers are admitted
        caller = prompt.caller or prompt.owner  # a record from before callers were named
        share = await self._pacing.shares.share(caller)
        admitted = await self._pacing.pacer.admit(provider, job, caller, share, prompt.priority)
        if admitted.estimated_wait is not None:
            until = self._clock() + timedelta(seconds=admitted.estimated_wait)

            async def waiting(fresh: Prompt) -> bool:
                if fresh.status is not PromptStatus.PREPARED:
                    return False  # taken from the room and submitted already
                fresh.wait_for(PROVIDER_QUOTA, until)
                return True

            await change_stored_prompt(self._prompts, prompt.id, waiting, current=prompt)
        return admitted.permit

    async def _call(
        self, prompt: Prompt, provider: GenAiProvider, permit: Permit | None
    ) -> GenAiAnswer | None:
        tokens = 0
        try:
            request = await self._request(prompt)
            with span("genai.submit", provider=provider.name):
                answer = await provider.submit(request)
                if answer is not None:
                    note_answer(answer.metadata, answer.usage)
            tokens = tokens_used(answer)
            return answer
        except TransientFailure as failure:
            if failure.retry_after and self._pacing is not None:
                await self._pacing.pacer.pause(provider.name, failure.retry_after)
            raise
        finally:
            if permit is not None:
                await self._release(permit, tokens)

    async def _release(self, permit: Permit, tokens: int = 0) -> None:
        if self._pacing is not None:
            await self._pacing.pacer.release(permit, tokens)

    async def _fall_back(self, prompt: Prompt) -> bool:
        """Hands the prompt to the provider after the one that is down, with fresh attempts;
        False when there is none."""
        current = self._order.index(prompt.provider) if prompt.provider in self._order else 0
        if current + 1 >= len(self._order):
            return False
        fallback = self._order[current + 1]

        async def hand_over(fresh: Prompt) -> bool:
            if fresh.status is not PromptStatus.PREPARED:
                return False
            fresh.hand_to(fallback)
            return True

        stored = await change_stored_prompt(self._prompts, prompt.id, hand_over, current=prompt)
        if stored is None or stored.provider != fallback:
            return False
        await self._queue.enqueue(Job.of(JobStep.SUBMIT, prompt))
        return True

    async def _record(
        self,
        prompt: Prompt,
        provider: str,
        submitted_at: datetime,
        response: PromptResponse | None,
        usage: TokenUsage | None,
    ) -> None:
        changed = False

        async def submitted(fresh: Prompt) -> bool:
            nonlocal changed
            changed = fresh.status is PromptStatus.PREPARED  # else cancelled, faulted or answered
            if changed:
                fresh.mark_submitted(submitted_at, provider)
                if response is not None:
                    fresh.record_response(response, usage)
            return changed

        stored = await change_stored_prompt(self._prompts, prompt.id, submitted, current=prompt)
        if changed and stored is not None:
            await queue_delivery(self._queue, stored)

    async def _request(self, prompt: Prompt) -> GenAiRequest:
        links = await self._files.links(prompt, self._link_lifetime)
        return GenAiRequest(prompt.id, prompt.kind, render(prompt), prompt.context, links)


def tokens_used(answer: GenAiAnswer | None) -> int:
    """The tokens the provider reports it used for the answer (0 when it reports none)."""
    return 0 if answer is None or answer.usage is None else answer.usage.total_tokens
