"""Commands that travel together: the prompt store's reads and scripts, called by many requests
or jobs at once, share one pipeline instead of taking one round trip each (ADR 0035).

A command called while nothing is on its way is sent at once, as itself: a lone request pays
neither a pipeline nor a turn of the event loop. Commands called while a command or a batch is on
its way wait for it to come back, then leave together, in one pipeline. Each command keeps its own
reply and its own error: the pipeline is not a transaction, and a command fails or succeeds
exactly as it would have alone. An error of the connection reaches every command of the batch, as
it would have reached each of them alone.

Measured on this machine (32 callers at once, one real Redis on loopback): an HMGET costs the
client 75 µs of CPU sent alone and 16 µs in a pipeline of 32.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, NamedTuple, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

from ai_gateway.integration.redis_scripts import BoundScript

KeysT = TypeVar("KeysT", bound=NamedTuple)
ArgsT = TypeVar("ArgsT", bound=NamedTuple)
ItemT = TypeVar("ItemT")

BATCH_LIMIT = 128
"""Commands per pipeline at most: a burst larger than this goes in several, one after another."""


class SharedTrips(Generic[ItemT]):
    """Calls that share their round trips to Redis. A call made while nothing is on its way is
    sent at once, by itself; calls made while a trip is on its way wait for it, then leave
    together on the next, at most ``limit`` to a trip. ``send`` takes the items of one trip and
    returns each one's reply, an exception among them for an item that failed alone; what it
    raises, every item of the trip had. A caller cancelled while its item waited takes it back:
    it is not sent."""

    def __init__(self, send: Callable[[list[ItemT]], Awaitable[list[Any]]], *, limit: int) -> None:
        self._send = send
        self._limit = limit
        self._waiting: list[tuple[ItemT, asyncio.Future[Any]]] = []
        self._busy = False  # a trip is on its way
        self._sending: asyncio.Task[None] | None = None  # held: the loop keeps only weak ones

    async def call(self, item: ItemT) -> Any:
        if not self._busy:
            self._busy = True
            try:
                (reply,) = await self._send([item])
            finally:
                self._hand_on()
            if isinstance(reply, Exception):
                raise reply
            return reply
        pending = asyncio.get_running_loop().create_future()
        self._waiting.append((item, pending))
        return await pending

    def _hand_on(self) -> None:
        """Once a trip ended: the items that queued behind it leave now, in a task of their
        own, so that the caller whose item came back goes on at once."""
        if self._waiting:
            self._sending = asyncio.create_task(self._drain())
        else:
            self._busy = False

    async def _drain(self) -> None:
        trip: list[tuple[ItemT, asyncio.Future[Any]]] = []
        try:
            while self._waiting:
                trip = [call for call in self._waiting[: self._limit] if not call[1].done()]
                del self._waiting[: self._limit]
                if trip:
                    await self._take(trip)
        except asyncio.CancelledError:  # the loop is closing: no caller is left waiting forever
            for _, reply in trip + self._waiting:
                reply.cancel()
            self._waiting.clear()
            raise
        finally:
            self._busy = False

    async def _take(self, trip: list[tuple[ItemT, asyncio.Future[Any]]]) -> None:
        try:
            replies = await self._send([item for item, _ in trip])
        except Exception as exc:  # the trip's error: every item of it had it
            replies = [exc] * len(trip)
        for (_, reply), value in zip(trip, replies, strict=True):
            _settle(reply, value)


_Queue = Callable[[Pipeline], object]  # queues exactly one command on the pipeline
_Alone = Callable[[], Awaitable[Any]]  # the same command, sent by itself


class CommandBatches:
    """The prompt store's reads and scripts, on shared trips: one command alone is sent as
    itself, several in one pipeline."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._trips: SharedTrips[tuple[_Queue, _Alone]] = SharedTrips(self._send, limit=BATCH_LIMIT)

    async def hmget(self, key: str, fields: list[str]) -> list[Any]:
        reply: list[Any] = await self._trips.call(
            (lambda pipe: pipe.hmget(key, fields), lambda: self._redis.hmget(key, fields))
        )
        return reply

    async def script(self, script: BoundScript[KeysT, ArgsT], keys: KeysT, args: ArgsT) -> Any:
        try:
            return await self._trips.call(
                (lambda pipe: script.queue(pipe, keys, args), lambda: script(keys, args))
            )
        except NoScriptError:
            # Redis lost its scripts (a restart, a failover to a server that never ran it): the
            # script did not run, and the script object loads it before running it again.
            return await script(keys, args)

    async def _send(self, commands: list[tuple[_Queue, _Alone]]) -> list[Any]:
        if len(commands) == 1:
            return [await commands[0][1]()]
        replies: list[Any] = [None] * len(commands)
        queued: list[int] = []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for i, (queue, _) in enumerate(commands):
                    try:
                        queue(pipe)
                    except Exception as exc:  # its arguments: only its own caller hears of it
                        replies[i] = exc
                        continue
                    queued.append(i)
                results = await pipe.execute(raise_on_error=False) if queued else []
        except Exception as exc:  # the connection's error: every command sent had it
            results = [exc] * len(queued)
        for i, result in zip(queued, results, strict=True):
            replies[i] = result
        return replies


def _settle(reply: asyncio.Future[Any], value: Any) -> None:
    if reply.done():  # its caller was cancelled meanwhile
        return
    if isinstance(value, Exception):
        reply.set_exception(value)
    else:
        reply.set_result(value)
