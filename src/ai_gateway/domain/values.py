"""Value objects of the prompt model."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TypeAlias

from ai_gateway.domain.errors import InvalidPromptData

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
JsonObject: TypeAlias = dict[str, JsonValue]

KIND_MAX_LENGTH: Final = 64
KIND_PATTERN: Final = rf"^[a-z][a-z0-9_.-]{{0,{KIND_MAX_LENGTH - 1}}}$"
"""A kind is a short lowercase identifier; the API schema declares this very pattern."""
_KIND = re.compile(KIND_PATTERN)


def canonical_json(value: JsonValue) -> bytes:
    """Serialise JSON deterministically: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def validate_kind(kind: str) -> str:
    """A prompt kind is a short lowercase identifier such as ``generic`` or ``mosaic_item``."""
    if not _KIND.fullmatch(kind):
        raise InvalidPromptData(
            "kind", f"must be 1-{KIND_MAX_LENGTH} lowercase letters, digits, '_', '.' or '-'"
        )
    return kind


@dataclass(frozen=True, slots=True)
class Fault:
    """Why a prompt failed: a stable machine-readable code and a detail a caller can act on."""

    code: str
    detail: str

    def to_json(self) -> JsonObject:
        return {"code": self.code, "detail": self.detail}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        return cls(data["code"], data["detail"])


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """A file kept in object storage on behalf of a prompt."""

    role: str
    key: str
    size: int
    content_type: str

    def to_json(self) -> JsonObject:
        return {
            "role": self.role,
            "key": self.key,
            "size": self.size,
            "content_type": self.content_type,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ObjectRef:
        return cls(data["role"], data["key"], data["size"], data["content_type"])


@dataclass(frozen=True, slots=True)
class PromptResponse:
    """The GenAI answer to a prompt; ``sha256`` identifies it across retries."""

    content: str
    metadata: JsonObject = field(default_factory=dict)
    sha256: str = ""
    created_at: datetime | None = None

    @classmethod
    def of(cls, content: str, metadata: JsonObject, at: datetime) -> PromptResponse:
        """Build an answer and its hash over the canonical JSON of content and metadata."""
        digest = hashlib.sha256(canonical_json({"content": content, "metadata": metadata}))
        return cls(content=content, metadata=metadata, sha256=digest.hexdigest(), created_at=at)

    def to_json(self) -> JsonObject:
        """The answer as JSON: kept in the record, in object storage, sent in callbacks."""
        return {
            "content": self.content,
            "metadata": self.metadata,
            "sha256": self.sha256,
            "created_at": _iso(self.created_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PromptResponse:
        return cls(data["content"], data["metadata"], data["sha256"], _time(data["created_at"]))


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Provider tokens a prompt cost, as the provider reported them."""

    input_tokens: int
    output_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, input_tokens: int, output_tokens: int) -> TokenUsage:
        return cls(input_tokens, output_tokens, input_tokens + output_tokens)

    @classmethod
    def read(cls, reply: object) -> TokenUsage | None:
        """The usage in a provider's reply: ``input_tokens``/``output_tokens`` or OpenAI's
        ``prompt_tokens``/``completion_tokens``, with ``total_tokens`` (their sum when absent).
        None when the reply carries no usable count: a missing count is not a zero one."""
        if not isinstance(reply, Mapping):
            return None
        given = _count(reply, "input_tokens", "prompt_tokens")
        made = _count(reply, "output_tokens", "completion_tokens")
        total = _count(reply, "total_tokens")
        if given is None and made is None and total is None:
            return None
        given, made = given or 0, made or 0
        return cls(given, made, given + made if total is None else max(total, given + made))

    def to_json(self) -> JsonObject:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenUsage:
        return cls(data["input_tokens"], data["output_tokens"], data["total_tokens"])


def _count(reply: Mapping[str, object], *names: str) -> int | None:
    for name in names:
        value = reply.get(name)
        # bool is an int to Python, not a count to anyone
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One call to the callback URL: its ``status`` is the receiver's HTTP status, or the code of
    why no status came back (``timeout``, ``url_refused``, ...)."""

    at: datetime
    status: str
    next_attempt_at: datetime | None = None

    @property
    def status_code(self) -> int | None:
        return int(self.status) if self.status.isdigit() else None

    @property
    def error(self) -> str | None:
        return None if self.status.isdigit() else self.status

    def to_json(self) -> JsonObject:
        return {"at": self.at.isoformat(), "status": self.status,
                "next_attempt_at": _iso(self.next_attempt_at)}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeliveryAttempt:
        return cls(
            datetime.fromisoformat(data["at"]), data["status"], _time(data["next_attempt_at"])
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where the call back to the client stands. ``webhook_id`` stays the same across attempts;
    ``log`` keeps every attempt, also across a redelivery, which counts ``attempts`` afresh."""

    webhook_id: str
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    last_status: str | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    log: tuple[DeliveryAttempt, ...] = ()

    def attempted(
        self, status: str, at: datetime, *, state: DeliveryState, next_at: datetime | None = None
    ) -> Delivery:
        log = (*self.log, DeliveryAttempt(at, status, next_at))
        return Delivery(self.webhook_id, state, self.attempts + 1, status, at, next_at, log)

    def restarted(self, webhook_id: str | None = None) -> Delivery:
        return Delivery(webhook_id or self.webhook_id, log=self.log)

    def to_json(self) -> JsonObject:
        return {
            "webhook_id": self.webhook_id,
            "state": self.state.value,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "last_attempt_at": _iso(self.last_attempt_at),
            "next_attempt_at": _iso(self.next_attempt_at),
            "log": [a.to_json() for a in self.log],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Delivery:
        return cls(
            data["webhook_id"],
            DeliveryState(data["state"]),
            data["attempts"],
            data["last_status"],
            _time(data["last_attempt_at"]),
            _time(data["next_attempt_at"]),
            tuple(DeliveryAttempt.from_json(a) for a in data.get("log", ())),
        )


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
