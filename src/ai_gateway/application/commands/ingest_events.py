"""Accept CloudEvents from other services: keep each once, then hand it to the handler of its type.

An event is kept before the caller is answered, unless its sender may not send its type: that one
is settled as refused and not kept, so it cannot take a (source, id) pair from the rightful sender.
A (source, id) pair seen before is not handled again. An event of a type no handler knows is kept
and settled as such: it does not fail the batch. A handler that finds a dependency down leaves its
event unsettled; the reconciler tries it again. Each event is kept with the identities of its
sender, so a handler, now or on a retry, can tell whether that sender may cause what the event
asks for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ai_gateway.application.events.dispatcher import UNKNOWN_TYPE, EventDispatcher
from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.events import EventInbox, InboundEvent
from ai_gateway.application.tracing import TraceContext, span


@dataclass(frozen=True, slots=True)
class IngestEvents(Command["Ingested"]):
    events: tuple[InboundEvent, ...]
    sender: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RetryUnsettledEvents(Command["Ingested"]):
    older_than_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class Ingested:
    accepted: int = 0
    duplicates: int = 0
    unknown: int = 0
    pending: int = 0
    refused: int = 0


class IngestEventsHandler:
    def __init__(self, inbox: EventInbox, dispatcher: EventDispatcher) -> None:
        self._inbox = inbox
        self._dispatcher = dispatcher

    async def handle(self, command: IngestEvents) -> Ingested:
        accepted = duplicates = unknown = pending = refused = 0
        for received in command.events:
            event = replace(received, sender=command.sender)
            refusal = self._dispatcher.refusal(event)
            if refusal is not None:
                await self._inbox.settle(event, refusal)
                refused += 1
                continue
            if not await self._inbox.store(event):
                duplicates += 1
                continue
            accepted += 1
            parent = TraceContext.of(event.traceparent, event.tracestate)
            with span("event", parent, link_current=True):  # the trace the sender continues
                outcome = await self._dispatcher.dispatch(event)
            unknown += outcome == UNKNOWN_TYPE
            pending += outcome is None
        return Ingested(accepted, duplicates, unknown, pending, refused)


class RetryUnsettledEventsHandler:
    def __init__(self, inbox: EventInbox, dispatcher: EventDispatcher) -> None:
        self._inbox = inbox
        self._dispatcher = dispatcher

    async def handle(self, command: RetryUnsettledEvents) -> Ingested:
        events: Sequence[InboundEvent] = await self._inbox.unsettled(
            command.older_than_seconds, 100
        )
        pending = 0
        for event in events:
            with span("event", TraceContext.of(event.traceparent, event.tracestate)):
                pending += await self._dispatcher.dispatch(event) is None
        return Ingested(accepted=len(events) - pending, pending=pending)
