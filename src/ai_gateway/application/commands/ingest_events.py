"""Accept CloudEvents from other services: keep each once, then hand it to the handler of its type.

An event is kept before the caller is answered. A (source, id) pair seen before is not handled
again. An event of a type no handler knows is kept and settled as such: it does not fail the batch.
A handler that finds a dependency down leaves its event unsettled; the reconciler tries it again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ai_gateway.application.errors import ApplicationError, DependencyUnavailable
from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.events import EventInbox, InboundEvent, IntegrationEventHandler
from ai_gateway.domain.errors import DomainError

logger = logging.getLogger("ai_gateway.events")


@dataclass(frozen=True, slots=True)
class IngestEvents(Command["Ingested"]):
    events: tuple[InboundEvent, ...]


@dataclass(frozen=True, slots=True)
class RetryUnsettledEvents(Command["Ingested"]):
    older_than_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class Ingested:
    accepted: int = 0
    duplicates: int = 0
    unknown: int = 0
    pending: int = 0


class IngestEventsHandler:
    def __init__(self, inbox: EventInbox, handlers: Iterable[IntegrationEventHandler]) -> None:
        self._inbox = inbox
        self._handlers = {h.event_type: h for h in handlers}

    async def handle(self, command: IngestEvents) -> Ingested:
        accepted = duplicates = unknown = pending = 0
        for event in command.events:
            if not await self._inbox.store(event):
                duplicates += 1
                continue
            accepted += 1
            outcome = await self.dispatch(event)
            unknown += outcome == "unknown type"
            pending += outcome is None
        return Ingested(accepted, duplicates, unknown, pending)

    async def dispatch(self, event: InboundEvent) -> str | None:
        """Handles and settles the event; None when it stays unsettled, to be tried again."""
        handler = self._handlers.get(event.type)
        if handler is None:
            outcome = "unknown type"
        else:
            try:
                await handler.handle(event)
                outcome = "handled"
            except DependencyUnavailable as exc:
                logger.warning("event %s from %s not handled yet: %s", event.id, event.source, exc)
                return None
            except (ApplicationError, DomainError) as exc:
                logger.info("event %s from %s refused: %s", event.id, event.source, exc)
                outcome = f"refused: {exc}"
        await self._inbox.settle(event, outcome)
        return outcome


class RetryUnsettledEventsHandler:
    def __init__(self, inbox: EventInbox, ingest: IngestEventsHandler) -> None:
        self._inbox = inbox
        self._ingest = ingest

    async def handle(self, command: RetryUnsettledEvents) -> Ingested:
        events: Sequence[InboundEvent] = await self._inbox.unsettled(
            command.older_than_seconds, 100
        )
        pending = 0
        for event in events:
            pending += await self._ingest.dispatch(event) is None
        return Ingested(accepted=len(events) - pending, pending=pending)
