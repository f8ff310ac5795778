"""GenAI provider calls, timed and counted around whichever provider is configured."""

from __future__ import annotations

import time
from typing import Any

from ai_gateway.application.errors import StepFailure
from ai_gateway.application.ports.genai import GenAiAnswer, GenAiProvider, GenAiRequest
from ai_gateway.metrics import definitions as m
from ai_gateway.metrics.labels import BoundedLabel


class MeteredProvider:
    """A ``GenAiProvider`` that times each call of ``inner`` by outcome (answered, accepted for
    a later answer, failed) and counts failures by their code; anything else raised counts as
    ``internal_error``, as the step's settler will record it."""

    def __init__(self, inner: GenAiProvider) -> None:
        self._inner = inner
        self.name = inner.name
        self._answered = m.PROVIDER_DURATION.labels(self.name, "answered")
        self._accepted = m.PROVIDER_DURATION.labels(self.name, "accepted")
        self._failed = m.PROVIDER_DURATION.labels(self.name, "failed")
        self._reason = BoundedLabel(limit=50)
        self._errors: dict[str, Any] = {}

    async def submit(self, request: GenAiRequest) -> GenAiAnswer | None:
        started = time.perf_counter()
        try:
            answer = await self._inner.submit(request)
        except Exception as exc:
            self._failed.observe(time.perf_counter() - started)
            self._error(exc.code if isinstance(exc, StepFailure) else "internal_error").inc()
            raise
        took = time.perf_counter() - started
        (self._accepted if answer is None else self._answered).observe(took)
        return answer

    def _error(self, code: str) -> Any:
        reason = self._reason(code)
        child = self._errors.get(reason)
        if child is None:
            child = self._errors[reason] = m.PROVIDER_ERRORS.labels(self.name, reason)
        return child
