"""Record a GenAI answer that arrived by itself (the asynchronous GenAI API posting it back).

The same answer twice is a harmless no-op; another answer after COMPLETED is a conflict. An answer
for a prompt still PREPARED proves its submission, which is recorded first.

Only the GenAI service answers: the caller must bear one of the identities configured for it
(``GENAI_SERVICE_IDENTITIES``), whether it posts to the internal endpoint or sends an event; a
route's scope alone is not enough. Every way in has the same size limit.

The tokens the answer cost are debited from its provider's token window when the provider is
paced (ADR 0020): an asynchronous provider reports them only now.
"""

from __future__ import annotations

from dataclasses import dataclass

from ai_gateway.application.callbacks import queue_delivery
from ai_gateway.application.errors import FieldError, Forbidden, NotFound, ValidationFailed
from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.clock import Clock
from ai_gateway.application.ports.jobs import JobQueue
from ai_gateway.application.ports.pacing import Permit, ProviderPacer
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.prompt_changes import change_prompt
from ai_gateway.application.prompt_files import PromptFiles
from ai_gateway.application.tracing import note, note_answer, note_prompt, prompt_trace, span
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import JsonObject, PromptResponse, TokenUsage

MAX_ANSWER_CHARACTERS = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordPromptResponse(Command["RecordedResponse"]):
    prompt_id: str
    content: str
    metadata: JsonObject
    answerer: frozenset[str]
    """The identities of the caller that brought the answer (``Principal.identities``)."""
    usage: TokenUsage | None = None
    """The tokens the GenAI service says the answer cost."""


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    prompt_id: str
    sha256: str
    status: PromptStatus
    duplicate: bool


class RecordPromptResponseHandler:
    def __init__(
        self,
        prompts: PromptRepository,
        queue: JobQueue,
        files: PromptFiles,
        clock: Clock,
        answerers: frozenset[str],
        pacer: ProviderPacer | None = None,
    ) -> None:
        """``answerers``: the GenAI service's identities; empty, nobody may answer."""
        self._prompts = prompts
        self._queue = queue
        self._files = files
        self._clock = clock
        self._answerers = answerers
        self._pacer = pacer

    async def handle(self, command: RecordPromptResponse) -> RecordedResponse:
        """Raises Forbidden (not the GenAI service), ValidationFailed (too long), NotFound,
        ResponseAlreadyRecorded or InvalidTransition (the prompt settled)."""
        if not command.answerer & self._answerers:
            raise Forbidden("only the GenAI service may answer prompts")
        if len(command.content) > MAX_ANSWER_CHARACTERS:
            raise ValidationFailed(
                [FieldError("content", f"at most {MAX_ANSWER_CHARACTERS} characters")]
            )
        response = PromptResponse.of(command.content, command.metadata, self._clock())
        duplicate = False

        async def load() -> Prompt:
            prompt = await self._prompts.get(command.prompt_id)
            if prompt is None:
                raise NotFound("prompt", command.prompt_id)
            return prompt

        async def record(prompt: Prompt) -> bool:
            nonlocal duplicate
            if prompt.status is PromptStatus.PREPARED:
                prompt.mark_submitted(self._clock())
            duplicate = not prompt.record_response(response, command.usage)
            if not duplicate:
                await self._files.keep_answer(prompt.id, response)
            return not duplicate

        # The answer joins its prompt's trace, linked to the request or event that brought it.
        with span("answer", prompt_trace(await load()), link_current=True, step="answer"):
            note_answer(command.metadata, command.usage)
            prompt = await change_prompt(self._prompts, load, record)
            note_prompt(prompt)
            note(outcome="duplicate" if duplicate else "recorded")
            if not duplicate:
                await queue_delivery(self._queue, prompt)
                await self._debit(prompt, command.usage)
        return RecordedResponse(prompt.id, response.sha256, prompt.status, duplicate=duplicate)

    async def _debit(self, prompt: Prompt, usage: TokenUsage | None) -> None:
        provider = prompt.provider
        if self._pacer is None or usage is None or not provider or not self._pacer.paces(provider):
            return
        # the permit of the hand-over was given back then: releasing it again only debits
        await self._pacer.release(Permit(provider, prompt.id), usage.total_tokens)
