"""A write that counts only once the replicas have it (ADR 0026).

Redis replicates asynchronously: the primary answers a write before any replica has it, and a
failover promotes a replica that may lack the last writes. ``ReplicatedWrites`` sends a write and
``WAIT n timeout`` on the same connection (one pipeline, one round trip more for the replica's
acknowledgement), where ``n`` is the replicas wanted, but never more than the primary has online:
a primary left without replicas (the other server lost) goes on writing, since no failover could
happen from it anyway. Fewer acknowledgements than ``n`` in time mean the write may not survive a
failover: it raises ``DependencyUnavailable``, so an API request answers 503 instead of 201 and a
job step is retried, both of which are safe to repeat.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.integration.redis_scripts import BoundScript

KeysT = TypeVar("KeysT", bound=NamedTuple)
ArgsT = TypeVar("ArgsT", bound=NamedTuple)

Send = Callable[[BoundScript[Any, Any], Any, Any], Awaitable[Any]]
"""How a script is sent when no replica is waited for."""

REPLICAS_LOOKED_AT_EVERY = 1.0
"""Seconds between two looks at how many replicas the primary has online."""


class ReplicatedWrites:
    def __init__(
        self,
        redis: Redis,
        *,
        replicas: int,
        timeout_ms: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._wanted = replicas
        self._timeout_ms = timeout_ms
        self._clock = clock
        self._online = 0
        self._looked_at = -float("inf")

    async def run(
        self, script: BoundScript[KeysT, ArgsT], keys: KeysT, args: ArgsT, *, unwaited: Send
    ) -> Any:
        """The script's reply, once ``replicas`` replicas (or every one online) have its write;
        sent by ``unwaited`` instead when there is no replica to wait for."""
        wanted = await self._replicas_to_wait_for()
        if wanted == 0:
            return await unwaited(script, keys, args)
        try:
            reply, acknowledged = await self._with_wait(script, keys, args, wanted)
        except NoScriptError:
            # A pipeline retried on another server (the new primary) does not load its scripts
            # there, and the script did not run: a new pipeline loads it first.
            reply, acknowledged = await self._with_wait(script, keys, args, wanted)
        if int(acknowledged) < wanted:
            self._looked_at = -float("inf")  # a replica may have gone: look again next time
            raise DependencyUnavailable("redis replicas")
        return reply

    async def _with_wait(
        self, script: BoundScript[KeysT, ArgsT], keys: KeysT, args: ArgsT, wanted: int
    ) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            await script(keys, args, client=pipe)
            pipe.execute_command("WAIT", wanted, self._timeout_ms)
            replies: list[Any] = await pipe.execute()
            return replies

    async def _replicas_to_wait_for(self) -> int:
        """The replicas a write waits for now: 0 when none is wanted or none is online."""
        if self._wanted == 0:
            return 0
        now = self._clock()
        if now - self._looked_at >= REPLICAS_LOOKED_AT_EVERY:
            info = await self._redis.info("replication")
            self._online = sum(
                1
                for name, value in info.items()
                if name.startswith("slave") and isinstance(value, dict)
                if value.get("state") == "online"
            )
            self._looked_at = now
        return min(self._wanted, self._online)
