"""Relays the outbox to the CloudEvents sink, in order, at least once.

One worker at a time relays (the holder of a ``LeaderLock``, asked before every event). It reads
the outbox stream from the oldest entry, POSTs each event to ``CLOUD_EVENT_SINK`` (structured
mode, or binary), and deletes the entry only once the sink answered 2xx; while the sink fails it
waits and tries the same event again, with backoff, so the order of every prompt's events is kept
and nothing is lost. An event the sink refuses for good (4xx other than 408/429) is moved to the
dead-letter stream (``RedisKeys.outbox_dead``) and logged as an error: visible, never silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from datetime import datetime
from typing import Any, Literal

import httpx
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from redis.asyncio import Redis

from ai_gateway.application.tracing import TraceContext, span
from ai_gateway.domain.events import prompt_event_type
from ai_gateway.integration.redis_errors import REDIS_DOWN
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.integration.redis_lock import LeaderLock

logger = logging.getLogger("ai_gateway.events")

_FORMAT = JSONFormat()


class EventRelay:
    def __init__(  # noqa: PLR0913 - keyword-only configuration
        self,
        redis: Redis,
        http: httpx.AsyncClient,
        *,
        prefix: str,
        sink: str,
        source: str,
        type_prefix: str,
        mode: Literal["structured", "binary"] = "structured",
        max_backoff: float = 30.0,
        lock_seconds: float = 30.0,
    ) -> None:
        """``lock_seconds`` is how soon another worker takes over from a relay that died; one
        delivery (the HTTP client's timeout) must fit in two thirds of it."""
        self._redis = redis
        self._http = http
        keys = RedisKeys(prefix)
        self._outbox = keys.outbox
        self._dead = keys.outbox_dead
        self._leader = LeaderLock(redis, keys.relay_lock, ttl=lock_seconds)
        self._sink = sink
        self._source = source
        self._prefix = type_prefix
        self._mode = mode
        self._max_backoff = max_backoff

    def cloud_event(self, entry: dict[str, Any]) -> CloudEvent:
        """The entry as a CloudEvent, with the distributed-tracing extension when it was traced."""
        tracing = {name: entry[name] for name in ("traceparent", "tracestate") if entry.get(name)}
        return CloudEvent(
            attributes={
                "id": entry["id"],
                "type": prompt_event_type(self._prefix, entry["step"]),
                "source": self._source,
                "subject": entry["prompt_id"],
                "time": datetime.fromisoformat(entry["time"]),
                "datacontenttype": "application/json",
                **tracing,
            },
            data=entry["data"],
        )

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self._relay_batch(stop)
        finally:
            await self._leader.release()

    async def _relay_batch(self, stop: asyncio.Event) -> None:
        try:
            if not await self._leader.hold():
                await _pause(stop, 1.0)
                return
            batch = await self._redis.xrange(self._outbox, "-", "+", count=100)
            if not batch:
                await _pause(stop, 0.2)
                return
            for entry_id, fields in batch:
                raw = str((fields or {}).get("e", ""))
                if stop.is_set() or not await self._relay(str(entry_id), raw, stop):
                    return
        except REDIS_DOWN as exc:
            logger.warning("event relay: redis unavailable (%s)", exc)
            await _pause(stop, 1.0)

    async def _relay(self, entry_id: str, raw: str, stop: asyncio.Event) -> bool:
        """Sends one event until the sink takes it; False when stopping or no longer leading
        first: only the lock's holder relays, so order is kept."""
        entry = json.loads(raw)
        event = self.cloud_event(entry)
        convert = ce_http.to_binary if self._mode == "binary" else ce_http.to_structured
        message = convert(event, _FORMAT)
        parent = TraceContext.of(entry.get("traceparent"), entry.get("tracestate"))
        attempt = 0
        while not stop.is_set() and await self._leader.hold():
            with span("event.publish", parent, prompt_id=entry["prompt_id"]):
                status = await self._post(message.headers, message.body)
            if status is not None and 200 <= status < 300:
                await self._redis.xdel(self._outbox, entry_id)
                return True
            if status is not None and 400 <= status < 500 and status not in {408, 429}:
                logger.error(
                    "the event sink refused event %s (%s of %s) with HTTP %d; dead-lettered",
                    entry["id"], entry["step"], entry["prompt_id"], status,
                )  # fmt: skip
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.xadd(self._dead, {"e": raw, "status": str(status)})
                    pipe.xdel(self._outbox, entry_id)
                    await pipe.execute()
                return True
            attempt += 1
            backoff = min(self._max_backoff, 0.2 * 2.0 ** min(attempt, 10))
            delay = backoff * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
            await _pause(stop, delay)
        return False

    async def _post(self, headers: dict[str, str], body: bytes) -> int | None:
        try:
            response = await self._http.post(self._sink, content=body, headers=headers)
        except httpx.HTTPError as exc:
            logger.warning("event sink unreachable: %s", exc)
            return None
        return response.status_code


class OutboxHealth:
    """Ready while the events waiting for the sink stay under the bound (new prompts are refused
    past it)."""

    name = "event_outbox"

    def __init__(self, redis: Redis, prefix: str, bound: int) -> None:
        self._redis = redis
        self._outbox = RedisKeys(prefix).outbox
        self._bound = bound

    async def backlog(self) -> int:
        return int(await self._redis.xlen(self._outbox))

    async def check(self) -> bool:
        try:
            return await self.backlog() < self._bound
        except REDIS_DOWN:
            return False


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
