"""Received CloudEvents in Redis.

``P:events:seen:<hash>`` marks a (source, id) pair for ``dedupe_seconds``; an unsettled event is
kept in ``P:events:data`` and indexed by arrival in ``P:events:unsettled``; settled ones leave
their outcome in the ``P:events:log`` stream (the last 10,000). Storing is one Lua script: an
event is either new and kept, or a duplicate and not.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from ai_gateway.application.ports.events import InboundEvent
from ai_gateway.integration.redis_prompt_repository import redis_errors

_STORE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1
"""


def _key(event: InboundEvent) -> str:
    return hashlib.sha256(f"{event.source}\n{event.id}".encode()).hexdigest()


def _dump(event: InboundEvent) -> str:
    return json.dumps({
        "id": event.id, "source": event.source, "type": event.type, "subject": event.subject,
        "time": None if event.time is None else event.time.isoformat(), "data": event.data,
    })  # fmt: skip


def _load(raw: str) -> InboundEvent:
    data: dict[str, Any] = json.loads(raw)
    when = None if data["time"] is None else datetime.fromisoformat(data["time"])
    return InboundEvent(
        data["id"], data["source"], data["type"], data["subject"], when, data["data"]
    )


class RedisEventInbox:
    def __init__(self, redis: Redis, *, prefix: str, dedupe_seconds: int = 7 * 86_400) -> None:
        self._redis = redis
        self._prefix = prefix
        self._dedupe = dedupe_seconds
        self._data = f"{prefix}:events:data"
        self._unsettled = f"{prefix}:events:unsettled"
        self.log = f"{prefix}:events:log"
        self._store = redis.register_script(_STORE)

    async def store(self, event: InboundEvent) -> bool:
        key = _key(event)
        keys = [f"{self._prefix}:events:seen:{key}", self._data, self._unsettled]
        async with redis_errors():
            stored = await self._store(
                keys=keys, args=[key, _dump(event), self._dedupe, time.time()]
            )
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
