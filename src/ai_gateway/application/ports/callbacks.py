"""Calling clients back with their prompt's result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ai_gateway.domain.prompt import Prompt


@dataclass(frozen=True, slots=True)
class CallbackOutcome:
    """What one delivery attempt gave: delivered, or why not and whether to try again."""

    delivered: bool
    status: str
    final: bool = False
    retry_after: float | None = None


class CallbackSender(Protocol):
    """POSTs a settled prompt's result or fault to its callback URL, signed; never raises for
    what the receiver does, only reports it."""

    async def send(self, prompt: Prompt, webhook_id: str) -> CallbackOutcome: ...
