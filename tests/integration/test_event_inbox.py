"""Received events in a real Redis: kept once, retried when their handling failed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from ai_gateway.application.commands.ingest_events import (
    IngestEvents,
    IngestEventsHandler,
    RetryUnsettledEvents,
    RetryUnsettledEventsHandler,
)
from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.application.events.dispatcher import EventDispatcher
from ai_gateway.application.ports.events import InboundEvent
from ai_gateway.integration.redis_event_inbox import RedisEventInbox

pytestmark = pytest.mark.integration


class Flaky:
    event_type = "com.example.flaky.v1"

    def __init__(self) -> None:
        self.down = True
        self.handled: list[str] = []

    async def handle(self, event: InboundEvent) -> None:
        if self.down:
            raise DependencyUnavailable("redis")
        self.handled.append(event.id)


def inbound(event_id: str) -> InboundEvent:
    return InboundEvent(event_id, "/s", Flaky.event_type, None, datetime.now(UTC), {"k": [1, "x"]})


async def test_an_event_whose_handling_failed_is_retried_once_its_dependency_is_back(
    redis_client: Redis, key_prefix: str
) -> None:
    inbox = RedisEventInbox(redis_client, prefix=key_prefix)
    flaky = Flaky()
    dispatcher = EventDispatcher(inbox, [flaky])
    ingest = IngestEventsHandler(inbox, dispatcher)
    retry = RetryUnsettledEventsHandler(inbox, dispatcher)

    first = await ingest.handle(IngestEvents((inbound("e1"), inbound("e2"))))
    assert (first.accepted, first.pending) == (2, 2)
    assert [e.data for e in await inbox.unsettled(0, 10)] == [{"k": [1, "x"]}] * 2

    flaky.down = False
    retried = await retry.handle(RetryUnsettledEvents(older_than_seconds=0))
    again = await retry.handle(RetryUnsettledEvents(older_than_seconds=0))

    assert sorted(flaky.handled) == ["e1", "e2"]
    assert (retried.accepted, again.accepted) == (2, 0)
    assert await inbox.unsettled(0, 10) == []
    duplicate = await ingest.handle(IngestEvents((inbound("e1"),)))
    assert duplicate.duplicates == 1
