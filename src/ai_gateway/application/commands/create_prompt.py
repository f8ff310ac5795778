"""Create a prompt: store it in CREATED and answer at once; the pipeline takes it from there."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime

from ai_gateway.application.errors import FieldError, IdempotencyKeyReused
from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.clock import Clock, utc_now
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.application.ports.limits import CallerLimitsStore, Standing
from ai_gateway.application.ports.prompts import Admission, IdempotencyClaim, PromptRepository
from ai_gateway.application.principal import Principal
from ai_gateway.application.tracing import current_trace, note, note_prompt
from ai_gateway.domain.limits import Priority
from ai_gateway.domain.prompt import DEFAULT_KIND, Prompt, PromptStatus
from ai_gateway.domain.values import JsonObject, canonical_json

MAX_IDEMPOTENCY_KEY = 255
_NOT_CONTENT = frozenset({"principal", "idempotency_key"})


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatePrompt(Command["CreatedPrompt"]):
    principal: Principal
    content: str
    kind: str = DEFAULT_KIND
    context: JsonObject = field(default_factory=dict)
    callback_url: str | None = None
    data_url: str | None = None
    request_id: str | None = None
    metadata: JsonObject = field(default_factory=dict)
    priority: Priority | None = None
    """None: the caller's default priority."""
    idempotency_key: str | None = None

    def validate(self) -> Sequence[FieldError]:
        errors = []
        key = self.idempotency_key
        if key is not None and not (
            0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isascii() and key.isprintable()
        ):
            errors.append(FieldError("Idempotency-Key", "must be 1-255 printable ASCII characters"))
        return errors

    def fingerprint(self) -> str:
        """Identifies the request's content, for telling a retry from a different request: every
        field but who asks and the key itself, so a new input joins the fingerprint by itself."""
        body: JsonObject = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_CONTENT
        }
        return hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass(frozen=True, slots=True)
class CreatedPrompt:
    id: str
    status: PromptStatus
    created_at: datetime
    request_id: str | None
    replayed: bool = False
    standing: Standing | None = None
    """Where the caller stands against its limits after this creation, when it has any."""


class CreatePromptHandler:
    """Stores the prompt and queues its first step in one write (ADR 0028): nothing accepted is
    left without a job. The caller's limits are checked by the store, in the same write
    (ADR 0019)."""

    def __init__(
        self,
        prompts: PromptRepository,
        clock: Clock = utc_now,
        limits: CallerLimitsStore | None = None,
    ) -> None:
        self._prompts = prompts
        self._clock = clock
        self._limits = limits

    async def handle(self, command: CreatePrompt) -> CreatedPrompt:
        """Raises AdmissionRefused (nothing stored) when a limit or the backlog refuses it."""
        trace = current_trace()  # the request's: the prompt's later work joins its trace
        caller = command.principal.caller_name
        limits = None if self._limits is None else await self._limits.limits_for(caller)
        default = Priority.INTERACTIVE if limits is None else limits.priority
        prompt = Prompt.create(
            owner=command.principal.owner,
            content=command.content,
            at=self._clock(),
            kind=command.kind,
            context=command.context,
            callback_url=command.callback_url,
            data_url=command.data_url,
            request_id=command.request_id,
            metadata=command.metadata,
            traceparent=trace.traceparent if trace else None,
            tracestate=trace.tracestate if trace else None,
            priority=command.priority or default,
            caller=caller,
        )
        admission = Admission(caller, limits) if limits is not None and limits.restricts else None
        claim = None
        if command.idempotency_key is not None:
            scoped = f"{command.principal.owner}\n{command.idempotency_key}".encode()
            claim = IdempotencyClaim(hashlib.sha256(scoped).hexdigest(), command.fingerprint())
        added = await self._prompts.add(prompt, claim, admission, Job.of(JobStep.PREPARE, prompt))
        earlier = added.earlier
        if earlier is None or claim is None:
            note_prompt(prompt)
            return CreatedPrompt(
                prompt.id,
                prompt.status,
                prompt.created_at,
                prompt.request_id,
                standing=added.standing,
            )
        if earlier.fingerprint != claim.fingerprint:
            raise IdempotencyKeyReused
        note(prompt_id=earlier.prompt_id, outcome="replayed")
        return CreatedPrompt(
            earlier.prompt_id,
            PromptStatus.CREATED,
            earlier.created_at,
            command.request_id,
            replayed=True,
        )
