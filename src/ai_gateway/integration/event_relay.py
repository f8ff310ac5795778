"""Relays the outbox to the CloudEvents sink, in order, at least once.

One worker at a time relays (the holder of a ``LeaderLock``, asked before every request). It
reads the outbox stream from the oldest entry, a batch at a time, and POSTs the events to
``CLOUD_EVENT_SINK``. In structured or binary mode, one event per request: the prompts of a batch
are sent side by side (at most ``concurrency`` requests in flight), each prompt's events one after
the other, so every prompt's order is kept while the sink's latency is paid once per round rather
than once per event. In ``batched`` mode, the whole batch in one request of the JSON batch format,
in the outbox's order (ADR 0027). Entries are deleted only once the sink answered 2xx (a batch's
in one XDEL); while the sink fails the relay waits and tries the same request again, with backoff,
and a prompt's later events wait behind it: nothing is lost and nothing overtakes. An event the
sink refuses for good (4xx other than 408/429) is moved to the dead-letter stream
(``RedisKeys.outbox_dead``) and logged as an error: visible, never silent.

The relay keeps its own aiohttp session: httpx's connection pool cost several times more per
request, and lost throughput as requests ran side by side (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from datetime import datetime
from typing import Any, Literal, NamedTuple

import aiohttp
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from redis.asyncio import Redis

from ai_gateway.application.tracing import TraceContext, span
from ai_gateway.domain.events import cloud_event_type, prompt_event_type
from ai_gateway.integration.redis_errors import REDIS_DOWN
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.integration.redis_lock import LeaderLock

logger = logging.getLogger("ai_gateway.events")

_FORMAT = JSONFormat()
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"


class _Entry(NamedTuple):
    entry_id: str  # the outbox stream's id
    raw: str  # the entry as stored, kept as is when dead-lettered
    entry: dict[str, Any]


class EventRelay:
    def __init__(  # noqa: PLR0913 - keyword-only configuration
        self,
        redis: Redis,
        *,
        prefix: str,
        sink: str,
        source: str,
        type_prefix: str,
        mode: Literal["structured", "binary", "batched"] = "structured",
        max_backoff: float = 30.0,
        lock_seconds: float = 30.0,
        batch: int = 100,
        concurrency: int = 16,
        timeout: float = 10.0,
    ) -> None:
        """``lock_seconds`` is how soon another worker takes over from a relay that died; one
        delivery (``timeout``) must fit in two thirds of it."""
        self._redis = redis
        self._concurrency = concurrency
        self._timeout = timeout
        self._http: aiohttp.ClientSession | None = None
        keys = RedisKeys(prefix)
        self._outbox = keys.outbox
        self._dead = keys.outbox_dead
        self._leader = LeaderLock(redis, keys.relay_lock, ttl=lock_seconds)
        self._sink = sink
        self._source = source
        self._prefix = type_prefix
        self._mode = mode
        self._max_backoff = max_backoff
        self._batch = batch

    def cloud_event(self, entry: dict[str, Any]) -> CloudEvent:
        """A prompt's lifecycle entry (``step``, ``prompt_id``), or another event of the gateway
        (``event``, its name, and ``subject``); with the distributed-tracing extension when it
        was traced."""
        tracing = {name: entry[name] for name in ("traceparent", "tracestate") if entry.get(name)}
        name = entry.get("event")
        kind = cloud_event_type(self._prefix, name) if name else None
        return CloudEvent(
            attributes={
                "id": entry["id"],
                "type": kind or prompt_event_type(self._prefix, entry["step"]),
                "source": self._source,
                "subject": _subject(entry),
                "time": datetime.fromisoformat(entry["time"]),
                "datacontenttype": "application/json",
                **tracing,
            },
            data=entry["data"],
        )

    async def run(self, stop: asyncio.Event) -> None:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._concurrency),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        try:
            async with session:
                self._http = session
                while not stop.is_set():
                    await self._relay_batch(stop)
        finally:
            self._http = None
            await self._leader.release()

    async def _relay_batch(self, stop: asyncio.Event) -> None:
        try:
            if not await self._leader.hold():
                await _pause(stop, 1.0)
                return
            batch = await self._redis.xrange(self._outbox, "-", "+", count=self._batch)
            if not batch:
                await _pause(stop, 0.2)
                return
            entries: list[_Entry] = []
            for entry_id, fields in batch:
                raw = str((fields or {}).get("e", ""))
                entries.append(_Entry(str(entry_id), raw, json.loads(raw)))
            if self._mode == "batched":
                await self._relay_together(entries, stop)
            else:
                await self._relay_side_by_side(entries, stop)
        except REDIS_DOWN as exc:
            logger.warning("event relay: redis unavailable (%s)", exc)
            await _pause(stop, 1.0)

    async def _relay_together(self, entries: list[_Entry], stop: asyncio.Event) -> None:
        """The whole batch in one request, in the outbox's order (the batched content mode)."""
        body = b"[" + b",".join(_FORMAT.write(self.cloud_event(e.entry)) for e in entries) + b"]"
        headers = {"Content-Type": BATCH_CONTENT_TYPE}
        if await self._relay(entries, headers, body, stop):
            await self._redis.xdel(self._outbox, *(e.entry_id for e in entries))

    async def _relay_side_by_side(self, entries: list[_Entry], stop: asyncio.Event) -> None:
        by_prompt: dict[str, list[_Entry]] = {}
        for e in entries:
            by_prompt.setdefault(_subject(e.entry), []).append(e)
        sent: list[str] = []
        outcomes = await asyncio.gather(
            *(self._relay_in_order(events, sent, stop) for events in by_prompt.values()),
            return_exceptions=True,
        )
        if sent:
            await self._redis.xdel(self._outbox, *sent)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _relay_in_order(
        self, events: list[_Entry], sent: list[str], stop: asyncio.Event
    ) -> None:
        """One prompt's events of the batch, each once the one before it was taken; stops at the
        first that could not be sent, so none overtakes it."""
        convert = ce_http.to_binary if self._mode == "binary" else ce_http.to_structured
        for e in events:
            if stop.is_set():
                return
            message = convert(self.cloud_event(e.entry), _FORMAT)
            outcome = await self._relay([e], message.headers, message.body, stop)
            if outcome is None:
                return
            if outcome:
                sent.append(e.entry_id)

    async def _relay(
        self, entries: list[_Entry], headers: dict[str, str], body: bytes, stop: asyncio.Event
    ) -> bool | None:
        """Sends one request until the sink takes it: True once taken, False once its events
        were dead-lettered, None when stopping or no longer leading first (only the lock's holder
        relays, so order is kept)."""
        # One event's request continues its prompt's trace; a batch's spans many traces.
        first = entries[0].entry
        traced = len(entries) == 1
        parent = (
            TraceContext.of(first.get("traceparent"), first.get("tracestate")) if traced else None
        )
        fields = {"prompt_id": first["prompt_id"]} if traced and "prompt_id" in first else {}
        attempt = 0
        while not stop.is_set() and await self._leader.hold():
            with span("event.publish", parent, **fields):
                status = await self._post(headers, body)
            if status is not None and 200 <= status < 300:
                return True
            if status is not None and 400 <= status < 500 and status not in {408, 429}:
                for e in entries:
                    logger.error(
                        "the event sink refused event %s (%s of %s) with HTTP %d; dead-lettered",
                        e.entry["id"], e.entry.get("event") or e.entry.get("step"),
                        _subject(e.entry), status,
                    )  # fmt: skip
                async with self._redis.pipeline(transaction=True) as pipe:
                    for e in entries:
                        pipe.xadd(self._dead, {"e": e.raw, "status": str(status)})
                    pipe.xdel(self._outbox, *(e.entry_id for e in entries))
                    await pipe.execute()
                return False
            attempt += 1
            backoff = min(self._max_backoff, 0.2 * 2.0 ** min(attempt, 10))
            delay = backoff * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
            await _pause(stop, delay)
        return None

    async def _post(self, headers: dict[str, str], body: bytes) -> int | None:
        assert self._http is not None  # noqa: S101 - set by run() for its whole duration
        try:
            async with self._http.post(
                self._sink, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("event sink unreachable: %s", exc or type(exc).__name__)
            return None


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


def _subject(entry: dict[str, Any]) -> str:
    """What an entry is about: its prompt, or the subject of another event of the gateway (a
    caller's limits); one subject's events are sent in order."""
    return str(entry["prompt_id"] if "prompt_id" in entry else entry["subject"])
