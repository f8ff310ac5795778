"""The callers seen, in Redis: ``P:callers`` (owner id -> when and how last seen) and
``P:callers:seen`` (owner ids by when). A process notes each caller at most once a minute, so a
busy caller costs one write a minute, not one per request."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from redis.asyncio import Redis

from ai_gateway.application.ports.callers import CallerSeen
from ai_gateway.application.principal import Principal
from ai_gateway.integration.redis_errors import REDIS_DOWN, redis_errors
from ai_gateway.integration.redis_keys import RedisKeys

NOTE_EVERY_SECONDS = 60.0
MAX_REMEMBERED = 10_000


class RedisCallerLog:
    def __init__(
        self, redis: Redis, *, prefix: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._redis = redis
        self._keys = RedisKeys(prefix)
        self._clock = clock
        self._noted: dict[str, float] = {}

    async def seen(self, principal: Principal, at: datetime) -> None:
        now = self._clock()
        if now - self._noted.get(principal.owner, -NOTE_EVERY_SECONDS) < NOTE_EVERY_SECONDS:
            return
        if len(self._noted) >= MAX_REMEMBERED:
            self._noted.clear()
        self._noted[principal.owner] = now
        record = {
            "method": principal.method.value,
            "client_id": principal.client_id,
            "scopes": sorted(principal.scopes),
            "last_seen": at.isoformat(),
        }
        try:  # a caller log that cannot be written must not refuse the request
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hset(self._keys.callers, principal.owner, json.dumps(record))
                pipe.zadd(self._keys.callers_seen, {principal.owner: at.timestamp()})
                await pipe.execute()
        except REDIS_DOWN:
            self._noted.pop(principal.owner, None)

    async def callers(self, limit: int) -> Sequence[CallerSeen]:
        async with redis_errors():
            owners = [
                str(o) for o in await self._redis.zrevrange(self._keys.callers_seen, 0, limit - 1)
            ]
            records = await self._redis.hmget(self._keys.callers, owners) if owners else []
        found = []
        for owner, raw in zip(owners, records, strict=True):
            if raw is None:
                continue
            data = json.loads(raw)
            found.append(
                CallerSeen(
                    owner=owner,
                    method=data["method"],
                    client_id=data["client_id"],
                    scopes=frozenset(data["scopes"]),
                    last_seen=datetime.fromisoformat(data["last_seen"]).astimezone(UTC),
                )
            )
        return found
