"""Acknowledging jobs in batches: a worker running many jobs at once acknowledges every job that
ended while the previous acknowledgement was on its way in one round trip, not one each."""

from __future__ import annotations

import asyncio

from ai_gateway.integration.redis_jobs import RedisJobQueue

ACK_BATCH = 256  # jobs per script, well under what Lua's unpack takes


class BatchedAcks:
    def __init__(self, queue: RedisJobQueue) -> None:
        self._queue = queue
        self._waiting: list[tuple[str, str, asyncio.Future[None]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def acknowledge(self, msg_id: str, prompt_id: str) -> None:
        """Returns once the job is acknowledged; raises what acknowledging its batch raised."""
        acknowledged = asyncio.get_running_loop().create_future()
        self._waiting.append((msg_id, prompt_id, acknowledged))
        if self._sending is None:
            self._sending = asyncio.create_task(self._send())
        await acknowledged

    async def _send(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:ACK_BATCH]
                del self._waiting[:ACK_BATCH]
                try:
                    await self._queue.acknowledge([(msg_id, prompt) for msg_id, prompt, _ in batch])
                except Exception as exc:  # each job's own await raises it
                    _settle(batch, exc)
                    continue
                _settle(batch, None)
        finally:
            self._sending = None


def _settle(batch: list[tuple[str, str, asyncio.Future[None]]], error: Exception | None) -> None:
    for *_, acknowledged in batch:
        if acknowledged.done():  # its job was cancelled meanwhile
            continue
        if error is None:
            acknowledged.set_result(None)
        else:
            acknowledged.set_exception(error)
