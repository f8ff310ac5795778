"""The worker's pacing loop: it takes the paced providers' waiting prompts from their wait rooms,
in fair order and as fast as the shared limits allow, and submits each with its permit."""

from __future__ import annotations

import asyncio
import logging

from ai_gateway.application.commands.submit_prompt import SubmitPrompt
from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.ports.pacing import ProviderPacer, Taken

logger = logging.getLogger("ai_gateway.worker")

MAX_SLEEP_SECONDS = 1.0
"""The longest nap between two looks at a room, so that a stop is noticed soon."""


class PacedSubmissions:
    def __init__(
        self, pacer: ProviderPacer, mediator: Mediator, *, concurrency: int, idle_seconds: float
    ) -> None:
        """``concurrency``: submissions at once in this process; ``idle_seconds``: how long an
        empty room is left before looking again (an admission in this process wakes it)."""
        self._pacer = pacer
        self._mediator = mediator
        self._slots = asyncio.Semaphore(concurrency)
        self._idle = idle_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event, drain_seconds: float = 30.0) -> None:
        """Serves every paced provider until ``stop`` is set, then waits for the submissions
        under way (up to ``drain_seconds``)."""
        await asyncio.gather(*(self._serve(p, stop) for p in self._pacer.providers))
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=drain_seconds)

    async def _serve(self, provider: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._slots.acquire()
            try:
                taken = await self._pacer.take(provider)
            except DependencyUnavailable:
                self._slots.release()
                logger.warning("pacing of %s: redis unavailable; retrying", provider)
                await asyncio.sleep(MAX_SLEEP_SECONDS)
                continue
            if taken.job is None:
                self._slots.release()
                if taken.wait is None:  # nothing waits: until an admission here, or a while
                    await self._pacer.idle(provider, self._idle)
                else:
                    await asyncio.sleep(min(taken.wait, MAX_SLEEP_SECONDS))
                continue
            task = asyncio.create_task(self._submit(taken), name=f"paced-{taken.job.prompt_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _submit(self, taken: Taken) -> None:
        assert taken.job is not None  # noqa: S101 - only taken submissions are started
        try:
            await self._mediator.send(SubmitPrompt(taken.job, taken.permit))
        except Exception:  # the store is down: the lease ends, and the reconciler re-drives it
            logger.exception("paced submission of %s failed", taken.job.prompt_id)
        finally:
            self._slots.release()
