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
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

from ai_gateway.integration.redis_scripts import BoundScript

KeysT = TypeVar("KeysT", bound=NamedTuple)
ArgsT = TypeVar("ArgsT", bound=NamedTuple)

BATCH_LIMIT = 128
"""Commands per pipeline at most: a burst larger than this goes in several, one after another."""

_Queue = Callable[[Pipeline], object]  # queues exactly one command on the pipeline
_Alone = Callable[[], Any]  # the same command, sent by itself (an awaitable)


class CommandBatches:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._waiting: list[tuple[_Queue, _Alone, asyncio.Future[Any]]] = []
        self._busy = False  # a command or a batch is on its way
        self._sending: asyncio.Task[None] | None = None  # held: the loop keeps only weak ones

    async def hmget(self, key: str, fields: list[str]) -> list[Any]:
        reply: list[Any] = await self._call(
            lambda pipe: pipe.hmget(key, fields), lambda: self._redis.hmget(key, fields)
        )
        return reply

    async def script(self, script: BoundScript[KeysT, ArgsT], keys: KeysT, args: ArgsT) -> Any:
        try:
            return await self._call(
                lambda pipe: script.queue(pipe, keys, args), lambda: script(keys, args)
            )
        except NoScriptError:
            # Redis lost its scripts (a restart, a failover to a server that never ran it): the
            # script did not run, and the script object loads it before running it again.
            return await script(keys, args)

    async def _call(self, queue: _Queue, alone: _Alone) -> Any:
        if not self._busy:
            self._busy = True
            try:
                return await alone()
            finally:
                self._hand_on()
        reply = asyncio.get_running_loop().create_future()
        self._waiting.append((queue, alone, reply))
        return await reply

    def _hand_on(self) -> None:
        """Once a trip ended: the commands that queued behind it leave now, in a task of their
        own, so that the caller whose command came back goes on at once."""
        if self._waiting:
            self._sending = asyncio.create_task(self._send())
        else:
            self._busy = False

    async def _send(self) -> None:
        batch: list[tuple[_Queue, _Alone, asyncio.Future[Any]]] = []
        try:
            while self._waiting:
                # A caller cancelled while its command waited (a step's deadline) takes it back:
                # alone, a command cancelled before it left would not have run either.
                batch = [call for call in self._waiting[:BATCH_LIMIT] if not call[2].done()]
                del self._waiting[:BATCH_LIMIT]
                if batch:
                    await self._send_batch(batch)
        except asyncio.CancelledError:  # the loop is closing: no caller is left waiting forever
            for *_, reply in batch + self._waiting:
                reply.cancel()
            self._waiting.clear()
            raise
        finally:
            self._busy = False

    async def _send_batch(self, batch: list[tuple[_Queue, _Alone, asyncio.Future[Any]]]) -> None:
        if len(batch) == 1:
            _, alone, reply = batch[0]
            try:
                _settle(reply, await alone())
            except Exception as exc:  # the caller's own await raises it
                _settle(reply, exc)
            return
        queued = []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for queue, _, reply in batch:
                    try:
                        queue(pipe)
                    except Exception as exc:  # its arguments: only its own caller hears of it
                        _settle(reply, exc)
                        continue
                    queued.append(reply)
                replies = await pipe.execute(raise_on_error=False) if queued else []
        except Exception as exc:  # the connection's error: every command of the batch had it
            for reply in queued:
                _settle(reply, exc)
            return
        for reply, value in zip(queued, replies, strict=True):
            _settle(reply, value)


def _settle(reply: asyncio.Future[Any], value: Any) -> None:
    if reply.done():  # its caller was cancelled meanwhile
        return
    if isinstance(value, Exception):
        reply.set_exception(value)
    else:
        reply.set_result(value)
