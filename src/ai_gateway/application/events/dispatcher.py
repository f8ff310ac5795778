"""Hands each received event to the handler of its type and settles it in the inbox.

Some event types may come only from certain senders (a GenAI answer only from the GenAI service).
Such an event from anyone else is refused before it is kept: kept, it would take the (source, id)
the rightful sender is going to use, and its real event would then be dropped as a duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from ai_gateway.application.errors import ApplicationError, DependencyUnavailable
from ai_gateway.application.ports.events import EventInbox, InboundEvent, IntegrationEventHandler
from ai_gateway.domain.errors import DomainError

logger = logging.getLogger("ai_gateway.events")

UNKNOWN_TYPE = "unknown type"


class EventDispatcher:
    """An event of a type no handler knows is settled as such. A handler that finds a dependency
    down leaves its event unsettled, to be tried again; one that refuses it settles it refused."""

    def __init__(
        self,
        inbox: EventInbox,
        handlers: Iterable[IntegrationEventHandler],
        senders: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        """``senders``: for an event type, the identities that alone may send it; a type not
        named may come from any caller the route admits."""
        self._inbox = inbox
        self._handlers = {h.event_type: h for h in handlers}
        self._senders = dict(senders or {})

    def refusal(self, event: InboundEvent) -> str | None:
        """The outcome of an event its sender may not send, to be settled without keeping it;
        None when the sender may send it."""
        allowed = self._senders.get(event.type)
        if allowed is None or event.sender & allowed:
            return None
        logger.info("event %s from %s refused: sender %s", event.id, event.source, event.sender)
        return f"refused: this sender may not send {event.type} events"

    async def dispatch(self, event: InboundEvent) -> str | None:
        """Handles and settles the event, returning how; None when it stays unsettled."""
        handler = self._handlers.get(event.type)
        if handler is None:
            outcome = UNKNOWN_TYPE
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
