"""Explicit mapping between the Prompt entity and its stored JSON form."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import Delivery, DeliveryState, Fault, ObjectRef, PromptResponse


def dump_prompt(prompt: Prompt) -> str:
    response = prompt.response
    return json.dumps(
        {
            "id": prompt.id,
            "kind": prompt.kind,
            "content": prompt.content,
            "context": prompt.context,
            "owner": prompt.owner,
            "callback_url": prompt.callback_url,
            "data_url": prompt.data_url,
            "request_id": prompt.request_id,
            "metadata": prompt.metadata,
            "status": prompt.status.value,
            "timestamps": {s.value: t.isoformat() for s, t in prompt.timestamps.items()},
            "fault": None if prompt.fault is None else prompt.fault.to_json(),
            "response": None if response is None else response.to_json(),
            "delivery": None if prompt.delivery is None else _dump_delivery(prompt.delivery),
            "objects": [
                {"role": o.role, "key": o.key, "size": o.size, "content_type": o.content_type}
                for o in prompt.objects
            ],
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def load_prompt(raw: str, version: int) -> Prompt:
    data: dict[str, Any] = json.loads(raw)
    fault, response = data["fault"], data["response"]
    return Prompt(
        id=data["id"],
        kind=data["kind"],
        content=data["content"],
        context=data["context"],
        owner=data["owner"],
        callback_url=data["callback_url"],
        data_url=data["data_url"],
        request_id=data["request_id"],
        metadata=data["metadata"],
        status=PromptStatus(data["status"]),
        timestamps={
            PromptStatus(s): datetime.fromisoformat(t) for s, t in data["timestamps"].items()
        },
        fault=None if fault is None else Fault(fault["code"], fault["detail"]),
        response=None
        if response is None
        else PromptResponse(
            content=response["content"],
            metadata=response["metadata"],
            sha256=response["sha256"],
            created_at=None
            if response["created_at"] is None
            else datetime.fromisoformat(response["created_at"]),
        ),
        objects=tuple(ObjectRef(**o) for o in data["objects"]),
        delivery=_load_delivery(data.get("delivery")),
        version=version,
    )


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _dump_delivery(delivery: Delivery) -> dict[str, Any]:
    return {
        "webhook_id": delivery.webhook_id,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "last_status": delivery.last_status,
        "last_attempt_at": _time(delivery.last_attempt_at),
        "next_attempt_at": _time(delivery.next_attempt_at),
    }


def _load_delivery(data: dict[str, Any] | None) -> Delivery | None:
    if data is None:
        return None
    return Delivery(
        webhook_id=data["webhook_id"],
        state=DeliveryState(data["state"]),
        attempts=data["attempts"],
        last_status=data["last_status"],
        last_attempt_at=_parse_time(data["last_attempt_at"]),
        next_attempt_at=_parse_time(data["next_attempt_at"]),
    )
