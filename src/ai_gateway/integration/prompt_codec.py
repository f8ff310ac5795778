"""The one JSON form of a prompt: what the store keeps, and what the public views pick from.

Every stored field of ``Prompt`` keeps its own name. Only the fields whose values are not JSON
already have an encoder here; the others are taken as they are, so a new plain field is stored
without a change here, and a new typed one fails loudly (``json`` cannot encode it) until it
gets one. The value objects own their JSON forms (``to_json`` / ``from_json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any, Final

from ai_gateway.domain.history import Action, Step
from ai_gateway.domain.limits import Priority
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import Delivery, Fault, ObjectRef, PromptResponse, TokenUsage

# The version is kept beside the record (the store compares and sets it); events go to the outbox.
_NOT_STORED = frozenset({"version", "_events"})
STORED_FIELDS: Final = tuple(f.name for f in fields(Prompt) if f.name not in _NOT_STORED)

_ENCODERS: Final[Mapping[str, Callable[[Prompt], Any]]] = {
    "status": lambda p: p.status.value,
    "priority": lambda p: p.priority.value,
    "timestamps": lambda p: {s.value: at.isoformat() for s, at in p.timestamps.items()},
    "fault": lambda p: None if p.fault is None else p.fault.to_json(),
    "response": lambda p: None if p.response is None else p.response.to_json(),
    "usage": lambda p: None if p.usage is None else p.usage.to_json(),
    "objects": lambda p: [o.to_json() for o in p.objects],
    "delivery": lambda p: None if p.delivery is None else p.delivery.to_json(),
    "waiting_until": lambda p: None if p.waiting_until is None else p.waiting_until.isoformat(),
    "history": lambda p: [a.to_json() for a in p.history],
    "steps": lambda p: [s.to_json() for s in p.steps],
}


def prompt_json(prompt: Prompt, names: Iterable[str] = STORED_FIELDS) -> dict[str, Any]:
    """The named fields of the prompt as JSON values (all stored fields by default)."""
    return {n: _ENCODERS[n](prompt) if n in _ENCODERS else getattr(prompt, n) for n in names}


def dump_prompt(prompt: Prompt) -> str:
    return json.dumps(prompt_json(prompt), separators=(",", ":"), ensure_ascii=False)


def load_prompt(raw: str, version: int) -> Prompt:
    data: dict[str, Any] = json.loads(raw)
    fault, response, delivery = data["fault"], data["response"], data.get("delivery")
    usage = data.get("usage")  # records stored before token usage was kept have none
    plain = {n: data[n] for n in STORED_FIELDS if n in data and n not in _ENCODERS}
    timestamps = {
        PromptStatus(s): datetime.fromisoformat(at) for s, at in data["timestamps"].items()
    }
    # Records stored before steps were kept have one step per status reached.
    steps = data.get("steps") or [Step(s.value, at).to_json() for s, at in timestamps.items()]
    return Prompt(
        **plain,
        status=PromptStatus(data["status"]),
        priority=Priority(data.get("priority", Priority.INTERACTIVE)),
        timestamps=timestamps,
        history=[Action.from_json(a) for a in data.get("history", ())],
        steps=[Step.from_json(s) for s in steps],
        fault=None if fault is None else Fault.from_json(fault),
        response=None if response is None else PromptResponse.from_json(response),
        usage=None if usage is None else TokenUsage.from_json(usage),
        objects=tuple(ObjectRef.from_json(o) for o in data["objects"]),
        delivery=None if delivery is None else Delivery.from_json(delivery),
        waiting_until=_time(data.get("waiting_until")),
        version=version,
    )


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
