"""Events received from other services: kept in an inbox, handled by type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ai_gateway.domain.values import JsonValue


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """A CloudEvent received from another service."""

    id: str
    source: str
    type: str
    subject: str | None
    time: datetime | None
    data: JsonValue
    sender: frozenset[str] = frozenset()
    """The identities of the caller that posted it (``Principal.identities``)."""
    traceparent: str | None = None
    tracestate: str | None = None
    """The trace it continues: the CloudEvents distributed-tracing extension, when sent."""


class EventInbox(Protocol):
    """Received events, kept until handled; each (source, id) is accepted once."""

    async def store(self, event: InboundEvent) -> bool:
        """Keeps the event; False (keeping nothing) when this (source, id) was seen before."""
        ...

    async def settle(self, event: InboundEvent, outcome: str) -> None:
        """The event was handled (or will never be); ``outcome`` says how. An event refused
        before it was kept is settled too, so the event log shows it."""
        ...

    async def unsettled(self, older_than_seconds: float, limit: int) -> Sequence[InboundEvent]:
        """Events kept but not settled for a while: their handling failed and is due again."""
        ...


class IntegrationEventHandler(Protocol):
    """Handles received events of one type; raises DependencyUnavailable to be tried again."""

    event_type: str

    async def handle(self, event: InboundEvent) -> None: ...
