"""Acknowledging jobs in batches: a worker running many jobs at once acknowledges every job that
ended while the previous acknowledgement was on its way in one round trip, not one each
(``SharedTrips``, as the prompt store shares its own)."""

from __future__ import annotations

from ai_gateway.integration.redis_batches import SharedTrips
from ai_gateway.integration.redis_jobs import RedisJobQueue

ACK_BATCH = 256  # jobs per script, well under what Lua's unpack takes


class BatchedAcks:
    def __init__(self, queue: RedisJobQueue) -> None:
        self._queue = queue
        self._trips: SharedTrips[tuple[str, str]] = SharedTrips(self._send, limit=ACK_BATCH)

    async def acknowledge(self, msg_id: str, prompt_id: str) -> None:
        """Returns once the job is acknowledged; raises what acknowledging its batch raised."""
        await self._trips.call((msg_id, prompt_id))

    async def _send(self, jobs: list[tuple[str, str]]) -> list[None]:
        await self._queue.acknowledge(jobs)
        return [None] * len(jobs)
