"""Outbox entries: the lifecycle events of a prompt, as they are stored until relayed.

An entry is the event's id (the CloudEvent id), its step, its prompt and time, and the prompt's
public summary at that moment: no content, no answer text, no callback URL (it may carry tokens).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from ai_gateway.domain.events import PromptEvent
from ai_gateway.domain.prompt import Prompt


def public_summary(prompt: Prompt) -> dict[str, Any]:
    response = prompt.response
    return {
        "prompt_id": prompt.id,
        "kind": prompt.kind,
        "status": prompt.status.value,
        "owner": prompt.owner,
        "request_id": prompt.request_id,
        "timestamps": {s.value: t.isoformat() for s, t in prompt.timestamps.items()},
        "fault": None if prompt.fault is None else prompt.fault.to_json(),
        "response": None
        if response is None
        else {"sha256": response.sha256, "created_at": response.to_json()["created_at"]},
        "version": prompt.version + 1,
    }


def outbox_entries(prompt: Prompt, events: Sequence[PromptEvent]) -> list[str]:
    summary = public_summary(prompt)
    return [
        json.dumps(
            {
                "id": uuid.uuid4().hex,
                "step": event.step,
                "prompt_id": event.prompt_id,
                "time": event.occurred_at.isoformat(),
                "data": summary,
            },
            separators=(",", ":"),
        )
        for event in events
    ]
