"""Caller limits kept in Redis (ADR 0019): an administrator's limits per caller name, in the hash
``P:limits:callers``, over the configured ones (``CALLER_LIMITS``).

Creation reads a caller's limits through a cache of ``refresh_seconds``: one HGET per caller and
second at most, none per creation. A change is seen at once by the process that made it, and
within ``refresh_seconds`` by every other. Each change is a CloudEvent, written to the outbox in
the same transaction as the change.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from redis.asyncio import Redis

from ai_gateway.application.ports.limits import CallerAccount, Standing, Usage
from ai_gateway.application.ports.pacing import Share
from ai_gateway.domain.events import CALLER_LIMITS_CHANGED
from ai_gateway.domain.limits import DEFAULT_CALLER, CallerLimits
from ai_gateway.integration.redis_admission import IN_FLIGHT_STATUSES, whole_seconds
from ai_gateway.integration.redis_errors import redis_errors
from ai_gateway.integration.redis_keys import RedisKeys

_MAX_CACHED = 10_000
_DAY_MS = 86_400_000


class RedisCallerLimits:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        configured: Mapping[str, CallerLimits],
        publish_events: bool = False,
        refresh_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._keys = RedisKeys(prefix)
        self._configured = dict(configured)
        self._publish = publish_events
        self._refresh = refresh_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, CallerLimits | None]] = {}

    async def limits_for(self, caller: str) -> CallerLimits | None:
        now = self._clock()
        cached = self._cache.get(caller)
        if cached is None or cached[0] <= now:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            cached = (now + self._refresh, await self.stored(caller))
            self._cache[caller] = cached
        return cached[1] or await self.configured(caller)

    async def share(self, caller: str) -> Share:
        """The caller's weight, for pacing (ADR 0020)."""
        limits = await self.limits_for(caller)
        return Share() if limits is None else Share(float(limits.weight))

    async def configured(self, caller: str) -> CallerLimits | None:
        return self._configured.get(caller) or self._configured.get(DEFAULT_CALLER)

    async def stored(self, caller: str) -> CallerLimits | None:
        async with redis_errors():
            raw = await self._redis.hget(self._keys.caller_limits, caller)
        return None if raw is None else CallerLimits.read(json.loads(raw))

    async def store(self, caller: str, limits: CallerLimits | None, changed_by: str) -> None:
        async with redis_errors(), self._redis.pipeline(transaction=True) as tx:
            if limits is None:
                tx.hdel(self._keys.caller_limits, caller)
            else:
                tx.hset(self._keys.caller_limits, caller, json.dumps(limits.to_json()))
            if self._publish:
                tx.xadd(self._keys.outbox, {"e": _change_entry(caller, limits, changed_by)})
            await tx.execute()
        self._cache.pop(caller, None)

    async def standing(self, caller: str, owner: str, limits: CallerLimits) -> Standing:
        _, [usage], day_left_ms = await self._read([(caller, owner)], stored=False)
        rate, budget = limits.requests, limits.tokens_per_day
        return Standing(
            limits,
            requests_remaining=None if rate is None else max(0, rate.count - usage.requests),
            requests_reset_seconds=None
            if rate is None
            else usage.requests_reset_seconds or rate.seconds,
            in_flight=None if limits.in_flight is None else usage.in_flight,
            tokens_used=None if budget is None else usage.tokens_today,
            tokens_reset_seconds=None if budget is None else whole_seconds(day_left_ms),
        )

    async def accounts(self, callers: Sequence[tuple[str, str]]) -> list[CallerAccount]:
        if not callers:
            return []
        stored, usages, _ = await self._read(callers, stored=True)
        return [
            CallerAccount(caller, owner, stored[caller], await self.configured(caller), usage)
            for (caller, owner), usage in zip(callers, usages, strict=True)
        ]

    async def _read(
        self, callers: Sequence[tuple[str, str]], *, stored: bool
    ) -> tuple[dict[str, CallerLimits | None], list[Usage], int]:
        """Each (caller, owner)'s usage, its stored limits if asked, and the milliseconds left
        of the UTC day: Redis's clock, then one pipeline for every caller."""
        keys = self._keys
        names = list(dict.fromkeys(caller for caller, _ in callers)) if stored else []
        async with redis_errors():
            seconds, micros = await self._redis.time()
            now = seconds * 1000 + micros // 1000
            async with self._redis.pipeline(transaction=False) as pipe:
                if names:
                    pipe.hmget(keys.caller_limits, names)
                for caller, owner in callers:
                    pipe.get(keys.caller_rate(caller))
                    pipe.pttl(keys.caller_rate(caller))
                    for status in IN_FLIGHT_STATUSES:
                        pipe.zcard(keys.index(owner=owner, status=status.value))
                    pipe.get(keys.caller_tokens(caller, now // _DAY_MS))
                replies = await pipe.execute()
        limits = {}
        if names:
            raws, *replies = replies
            limits = {
                name: None if raw is None else CallerLimits.read(json.loads(raw))
                for name, raw in zip(names, raws, strict=True)
            }
        each = 3 + len(IN_FLIGHT_STATUSES)
        usages = []
        for start in range(0, len(replies), each):
            counted, left, *in_flight, used = replies[start : start + each]
            usages.append(
                Usage(
                    requests=int(counted or 0),
                    requests_reset_seconds=whole_seconds(left) if left > 0 else None,
                    in_flight=sum(int(n) for n in in_flight),
                    tokens_today=int(used or 0),
                )
            )
        return limits, usages, (now // _DAY_MS + 1) * _DAY_MS - now


def _change_entry(caller: str, limits: CallerLimits | None, changed_by: str) -> str:
    """An outbox entry the relay sends as ``{prefix}.caller.limits.changed.v1``."""
    return json.dumps(
        {
            "id": uuid.uuid4().hex,
            "event": CALLER_LIMITS_CHANGED,
            "subject": caller,
            "time": datetime.now(UTC).isoformat(),
            "data": {
                "caller": caller,
                "limits": None if limits is None else limits.to_json(),
                "changed_by": changed_by,
            },
        },
        separators=(",", ":"),
    )
