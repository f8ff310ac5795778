"""Outbox entries: the lifecycle events of a prompt, as they are stored until relayed.

An entry is the event's id (the CloudEvent id), its step, its prompt and time, and the prompt's
public summary at that moment: no content, no answer text, no callback URL (it may carry tokens),
and the trace context of the step that caused it (``traceparent``, ``tracestate``). The summary's
history says who took each action on the prompt (an ``action`` event's subject).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, Final

from ai_gateway.application.tracing import current_trace, prompt_trace
from ai_gateway.domain.events import PromptEvent
from ai_gateway.domain.prompt import Prompt
from ai_gateway.integration.prompt_codec import prompt_json

_SUMMARY_FIELDS: Final = (
    "kind",
    "status",
    "owner",
    "request_id",
    "priority",
    "timestamps",
    "fault",
    "response",
    "usage",
    "history",
)


def public_summary(prompt: Prompt) -> dict[str, Any]:
    summary = {
        "prompt_id": prompt.id,
        **prompt_json(prompt, _SUMMARY_FIELDS),
        "version": prompt.version + 1,
    }
    if response := summary["response"]:  # which answer, never its text
        summary["response"] = {"sha256": response["sha256"], "created_at": response["created_at"]}
    return summary


def outbox_entries(prompt: Prompt, events: Sequence[PromptEvent]) -> list[str]:
    summary = public_summary(prompt)
    trace = current_trace() or prompt_trace(prompt)  # the step that caused them, in the prompt's
    context = trace.carrier() if trace else {}
    return [
        json.dumps(
            {
                "id": uuid.uuid4().hex,
                "step": event.step,
                "prompt_id": event.prompt_id,
                "time": event.occurred_at.isoformat(),
                "data": summary,
                **context,
            },
            separators=(",", ":"),
        )
        for event in events
    ]
