"""What a prompt's stored changes say: created, each step reached, its end, its tokens, and what
its callback deliveries gave.

The prompt store calls ``PromptMeter.written`` after each write that won, with the lifecycle events
the write stored, so every transition is counted once, by whichever process made it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from prometheus_client import Counter, Histogram

from ai_gateway.domain.events import (
    PromptEvent,
    PromptFaulted,
    PromptMoved,
    PromptReceived,
    PromptSubmitted,
)
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.metrics import definitions as m
from ai_gateway.metrics.labels import BoundedLabel, Callers, Kinds

S = PromptStatus
FINAL: Final = frozenset({S.COMPLETED, S.CANCELLED, S.FAULTED})
"""A prompt's outcome; RESPONDED follows COMPLETED when the callback is delivered and is a step."""


class PromptMeter:
    """Counts prompts by kind and caller; ``providers`` are the GenAI providers configured, the
    first the one an answer that names none of them is counted under.

    Children of each metric are bound once per label set and kept: a write costs dictionary
    look-ups, not label parsing."""

    def __init__(self, *, kinds: Kinds, callers: Callers, providers: Sequence[str]) -> None:
        self._kind = kinds
        self._caller = callers
        self._providers = tuple(providers)
        self._fault = BoundedLabel(limit=50)
        self._model = BoundedLabel(limit=20)
        self._bound: dict[tuple[object, ...], Any] = {}

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._bound.get(key)
        if child is None:
            child = self._bound[key] = metric.labels(*labels)
        return child

    def written(self, prompt: Prompt, events: Sequence[PromptEvent]) -> None:
        """Observes one stored write of ``prompt`` and the events it stored."""
        if not events:
            return
        kind = self._kind(prompt.kind)
        created = prompt.created_at
        for event in events:
            if isinstance(event, PromptReceived):
                self._child(
                    m.PROMPTS_CREATED, kind, self._caller(prompt.owner, prompt.caller)
                ).inc()
                continue
            if not isinstance(event, PromptMoved):
                continue
            step = event.status
            seconds = max((event.occurred_at - created).total_seconds(), 0.0)
            self._child(m.PROMPT_STEP_SECONDS, kind, step).observe(seconds)
            if step in FINAL:
                fault = self._fault(event.code) if isinstance(event, PromptFaulted) else "none"
                self._child(m.PROMPTS_FINISHED, kind, step, fault).inc()
            if step == S.COMPLETED:
                self._answered(prompt, events)

    def _answered(self, prompt: Prompt, events: Sequence[PromptEvent]) -> None:
        metadata = prompt.response.metadata if prompt.response is not None else {}
        named = metadata.get("provider")
        provider = named if isinstance(named, str) and named in self._providers else None
        provider = provider or self._providers[0]
        # A synchronous provider's answer is stored in the same write as the submission.
        if not any(isinstance(e, PromptSubmitted) for e in events):
            self._child(m.ASYNC_ANSWERS, provider).inc()
        usage = prompt.usage
        if usage is None:
            return
        model = metadata.get("model")
        model = self._model(model) if isinstance(model, str) else "unknown"
        caller = self._caller(prompt.owner, prompt.caller)
        self._child(m.PROVIDER_TOKENS, provider, model, caller, "in").inc(usage.input_tokens)
        self._child(m.PROVIDER_TOKENS, provider, model, caller, "out").inc(usage.output_tokens)

    def callback_attempted(self, outcome: str, attempts: int) -> None:
        """One callback attempt's outcome; a delivery that settles also reports its attempts."""
        self._child(m.CALLBACK_DELIVERIES, outcome).inc()
        if outcome != "retried":
            self._child(m.CALLBACK_ATTEMPTS, outcome).observe(attempts)
