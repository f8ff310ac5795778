"""Received CloudEvents in Redis.

A mark per (source, id) pair (``RedisKeys.event_seen``) lives for ``dedupe_seconds``; an unsettled
event is kept in a hash and indexed by arrival in a sorted set; settled ones leave their outcome
in the log stream (the last 10,000). Storing is one Lua script: an event is either new and kept,
or a duplicate and not.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from redis.asyncio import Redis

from ai_gateway.application.ports.events import InboundEvent
from ai_gateway.integration.redis_errors import redis_errors
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.integration.redis_scripts import NamedScript


class _StoreKeys(NamedTuple):
    seen: str  # the event's de-duplication mark
    data: str  # unsettled events by hash
    unsettled: str  # unsettled hashes by arrival


class _StoreArgs(NamedTuple):
    event_hash: str
    event: str  # the event as JSON
    dedupe_seconds: int
    now: float  # epoch seconds


_STORE: NamedScript[_StoreKeys, _StoreArgs] = NamedScript(
    _StoreKeys,
    _StoreArgs,
    """
if not redis.call('SET', KEY.seen, '1', 'NX', 'EX', ARG.dedupe_seconds) then return 0 end
redis.call('HSET', KEY.data, ARG.event_hash, ARG.event)
redis.call('ZADD', KEY.unsettled, ARG.now, ARG.event_hash)
return 1
""",
)
"""Returns 1 when the event is new and kept, 0 for a duplicate."""


def _key(event: InboundEvent) -> str:
    return hashlib.sha256(f"{event.source}\n{event.id}".encode()).hexdigest()


def _dump(event: InboundEvent) -> str:
    return json.dumps({
        "id": event.id, "source": event.source, "type": event.type, "subject": event.subject,
        "time": None if event.time is None else event.time.isoformat(), "data": event.data,
        "sender": sorted(event.sender), "traceparent": event.traceparent,
        "tracestate": event.tracestate,
    })  # fmt: skip


def _load(raw: str) -> InboundEvent:
    data: dict[str, Any] = json.loads(raw)
    when = None if data["time"] is None else datetime.fromisoformat(data["time"])
    return InboundEvent(
        data["id"], data["source"], data["type"], data["subject"], when, data["data"],
        frozenset(data.get("sender", ())), data.get("traceparent"), data.get("tracestate"),
    )  # fmt: skip


class RedisEventInbox:
    def __init__(self, redis: Redis, *, prefix: str, dedupe_seconds: int = 7 * 86_400) -> None:
        self._redis = redis
        self._keys = RedisKeys(prefix)
        self._dedupe = dedupe_seconds
        self._data = self._keys.events_data
        self._unsettled = self._keys.events_unsettled
        self.log = self._keys.events_log
        self._store = _STORE.bind(redis)

    async def store(self, event: InboundEvent) -> bool:
        key = _key(event)
        keys = _StoreKeys(self._keys.event_seen(key), self._data, self._unsettled)
        args = _StoreArgs(
            event_hash=key, event=_dump(event), dedupe_seconds=self._dedupe, now=time.time()
        )
        async with redis_errors():
            stored = await self._store(keys, args)
        return bool(stored)

    async def settle(self, event: InboundEvent, outcome: str) -> None:
        key = _key(event)
        entry: dict[Any, Any] = {
            "source": event.source,
            "id": event.id,
            "type": event.type,
            "outcome": outcome,
        }
        async with redis_errors(), self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._unsettled, key)
            pipe.hdel(self._data, key)
            pipe.xadd(self.log, entry, maxlen=10_000, approximate=True)
            await pipe.execute()

    async def unsettled(self, older_than_seconds: float, limit: int) -> Sequence[InboundEvent]:
        async with redis_errors():
            due = time.time() - older_than_seconds
            keys = [
                str(k)
                for k in await self._redis.zrangebyscore(
                    self._unsettled, "-inf", due, start=0, num=limit
                )
            ]
            if not keys:
                return []
            raws = await self._redis.hmget(self._data, keys)
        return [_load(str(raw)) for raw in raws if raw is not None]
