"""One holder at a time across processes: a leader lock on redis-py's own ``Lock`` (ADR 0012).

The lock is a random token under a key with a TTL. Taking it is SET NX PX; renewing it and
giving it up are redis-py's Lua scripts, which act only while the key still holds this holder's
token: a holder whose lock expired and was taken over can neither extend nor delete the new one.

A holder leads until its last renewal plus the TTL (timed from before the request was sent), so
``hold`` talks to Redis only once a third of the TTL has passed: a loop asks before every unit of
work and pays a round trip a few times per TTL. A unit of work must end within two thirds of the
TTL, or another holder may start while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, LockNotOwnedError

from ai_gateway.integration.redis_errors import REDIS_DOWN

logger = logging.getLogger("ai_gateway.worker")


class LeaderLock:
    def __init__(self, redis: Redis, name: str, *, ttl: float) -> None:
        # Not thread-local: the holder is this object, whichever task of the loop asks.
        self._lock = Lock(redis, name, timeout=ttl, blocking=False, thread_local=False)
        self._ttl = ttl
        self._renewed_at: float | None = None
        # Tasks of one loop may ask at once: one renewal answers them all.
        self._renewing = asyncio.Lock()

    @property
    def name(self) -> str:
        return str(self._lock.name)

    async def hold(self) -> bool:
        """True while this holder leads: takes the lock when it is free, renews it when due.
        Redis errors propagate: a holder that cannot reach Redis must not act."""
        if self._renewed_at is not None and time.monotonic() - self._renewed_at < self._ttl / 3:
            return True
        async with self._renewing:
            return await self._renew()

    async def _renew(self) -> bool:
        now = time.monotonic()
        if self._renewed_at is not None:
            if now - self._renewed_at < self._ttl / 3:
                return True
            try:
                await self._lock.reacquire()
            except LockNotOwnedError:
                logger.warning("lost the lock %s; another holder leads", self.name)
                self._forget()
            else:
                self._renewed_at = now
                return True
        if await self._lock.acquire(blocking=False):
            self._renewed_at = now
            return True
        return False

    async def release(self) -> None:
        """Gives the lock up, if it is still ours, so another holder need not wait for the TTL."""
        if self._renewed_at is None:
            return
        self._renewed_at = None
        with contextlib.suppress(LockError, *REDIS_DOWN):
            await self._lock.release()

    def _forget(self) -> None:
        self._renewed_at = None
        self._lock.local.token = None


async def run_periodically(
    redis: Redis,
    key: str,
    interval: float,
    action: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
) -> None:
    """Runs ``action`` about every ``interval`` seconds on one worker at a time, the holder of the
    leader lock ``key``; another takes over within three intervals of its death. ``action`` must
    take less than two intervals."""
    lock = LeaderLock(redis, key, ttl=3 * interval)
    try:
        while not stop.is_set():
            try:
                if await lock.hold():
                    await action()
            except REDIS_DOWN as exc:
                logger.warning("periodic %s skipped: redis unavailable (%s)", key, exc)
            except Exception:
                logger.exception("periodic %s failed", key)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
    finally:
        await lock.release()
