"""In-memory implementations of the ports for handler tests; they keep state for tests to check."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from ai_gateway.application.errors import ConcurrencyConflict
from ai_gateway.application.ports.callbacks import CallbackOutcome
from ai_gateway.application.ports.data import FetchedData
from ai_gateway.application.ports.genai import GenAiAnswer, GenAiRequest
from ai_gateway.application.ports.jobs import Job
from ai_gateway.application.ports.objects import ObjectNotFound
from ai_gateway.application.ports.pacing import Admitted, Permit, Share, Taken
from ai_gateway.application.ports.prompts import (
    Added,
    Admission,
    IdempotencyClaim,
    IdempotencyRecord,
    InvalidCursor,
    Page,
    PromptFilter,
)
from ai_gateway.domain.limits import Priority
from ai_gateway.domain.prompt import Prompt, PromptStatus


class InMemoryPromptRepository:
    """The PromptRepository contract in memory (tests/contract runs it against the Redis one).

    Prompts list in the order they were added, as Redis numbers them; a cursor is the number of
    the last prompt seen. ``conflicts_to_raise`` makes the next saves lose a race. A new prompt's
    first job goes to ``queue``.
    """

    def __init__(
        self,
        *,
        retention_seconds: int = 0,
        clock: Callable[[], float] = time.time,
        queue: RecordingQueue | None = None,
    ) -> None:
        self.queue = RecordingQueue() if queue is None else queue
        self.prompts: dict[str, Prompt] = {}
        self.claims: dict[str, IdempotencyRecord] = {}
        self.conflicts_to_raise = 0
        self._numbers: dict[str, int] = {}
        self._deadlines: dict[str, float] = {}
        self._deliveries_due: dict[str, float] = {}
        self._retention = retention_seconds
        self._clock = clock

    async def add(
        self,
        prompt: Prompt,
        idempotency: IdempotencyClaim | None = None,
        admission: Admission | None = None,
        first_job: Job | None = None,
    ) -> Added:
        prompt.pull_events()
        if idempotency is not None:
            if idempotency.key in self.claims:
                return Added(self.claims[idempotency.key])
            self.claims[idempotency.key] = IdempotencyRecord(
                prompt.id, idempotency.fingerprint, prompt.created_at
            )
        prompt.version = 1
        self.prompts[prompt.id] = copy.deepcopy(prompt)
        self._numbers[prompt.id] = len(self._numbers) + 1
        if first_job is not None:
            await self.queue.enqueue(first_job)
        return Added()

    async def get(self, prompt_id: str) -> Prompt | None:
        stored = self._live().get(prompt_id)
        return None if stored is None else copy.deepcopy(stored)

    async def save(self, prompt: Prompt) -> None:
        prompt.pull_events()
        stored = self._live().get(prompt.id)
        if self.conflicts_to_raise:
            self.conflicts_to_raise -= 1
            raise ConcurrencyConflict(prompt.id)
        if stored is None or stored.version != prompt.version:
            raise ConcurrencyConflict(prompt.id)
        prompt.version += 1
        self.prompts[prompt.id] = copy.deepcopy(prompt)
        if prompt.is_terminal and self._retention:
            self._deadlines[prompt.id] = self._clock() + self._retention
        self._deliveries_due.pop(prompt.id, None)
        if prompt.awaits_delivery:
            planned = prompt.current_delivery.next_attempt_at
            self._deliveries_due[prompt.id] = planned.timestamp() if planned else self._clock()

    def _live(self) -> dict[str, Prompt]:
        """The stored prompts, once those past their retention are forgotten."""
        now = self._clock()
        for prompt_id in [i for i, until in self._deadlines.items() if until <= now]:
            del self.prompts[prompt_id], self._deadlines[prompt_id]
        return self.prompts

    def _in_order(self) -> list[Prompt]:
        return sorted(self._live().values(), key=lambda p: self._numbers[p.id])

    async def oldest(self, status: PromptStatus, limit: int) -> list[Prompt]:
        found = [p for p in self._in_order() if p.status is status]
        return [copy.deepcopy(p) for p in found[:limit]]

    async def deliveries_due(self, before: datetime, limit: int) -> list[Prompt]:
        live = self._live()
        due = sorted(
            (at, prompt_id)
            for prompt_id, at in self._deliveries_due.items()
            if prompt_id in live and at <= before.timestamp()
        )
        return [copy.deepcopy(live[prompt_id]) for _, prompt_id in due[:limit]]

    async def list(self, criteria: PromptFilter, limit: int, cursor: str | None) -> Page[Prompt]:
        if cursor is not None and not cursor.isdigit():
            raise InvalidCursor(cursor)
        below = int(cursor) if cursor is not None else None
        matches = [
            p
            for p in reversed(self._in_order())
            if (below is None or self._numbers[p.id] < below)
            and (criteria.owner is None or p.owner == criteria.owner)
            and (criteria.status is None or p.status is criteria.status)
            and (criteria.kind is None or p.kind == criteria.kind)
            and (criteria.request_id is None or p.request_id == criteria.request_id)
            and criteria.in_period(p)
        ]
        page = matches[:limit]
        more = len(matches) > limit
        return Page(
            tuple(copy.deepcopy(p) for p in page), str(self._numbers[page[-1].id]) if more else None
        )


class FixedProbe:
    def __init__(self, name: str, up: bool) -> None:
        self.name = name
        self.up = up

    async def check(self) -> bool:
        return self.up


class RecordingQueue:
    def __init__(self) -> None:
        self.jobs: list[tuple[Job, float]] = []

    async def enqueue(self, job: Job, delay: float = 0.0) -> None:
        self.jobs.append((job, delay))

    async def enqueue_unless_waiting(self, job: Job) -> bool:
        """Every recorded job counts as waiting: tests clear ``jobs`` to play them run."""
        if any(queued.prompt_id == job.prompt_id for queued, _ in self.jobs):
            return False
        self.jobs.append((job, 0.0))
        return True

    def steps(self) -> list[tuple[str, str, int]]:
        return [(j.step.value, j.prompt_id, j.attempt) for j, _ in self.jobs]


class MemoryObjectStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = data

    async def get(self, key: str) -> bytes:
        try:
            return self.objects[key]
        except KeyError:
            raise ObjectNotFound(key) from None

    async def link(self, key: str, expires: timedelta) -> str | None:
        return f"https://objects.test/{key}?expires={int(expires.total_seconds())}"


class ScriptedSource:
    """Answers each fetch with the next scripted reply: data, or a failure to raise."""

    def __init__(self, *replies: FetchedData | Exception) -> None:
        self.replies = list(replies)
        self.urls: list[str] = []

    async def fetch(self, url: str) -> FetchedData:
        self.urls.append(url)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


class ScriptedProvider:
    name = "scripted"

    def __init__(self, *replies: GenAiAnswer | Exception | None, name: str = "scripted") -> None:
        self.name = name
        self.replies = list(replies)
        self.requests: list[GenAiRequest] = []

    async def submit(self, request: GenAiRequest) -> GenAiAnswer | None:
        self.requests.append(request)
        reply = self.replies.pop(0) if self.replies else GenAiAnswer("fine", {})
        if isinstance(reply, Exception):
            raise reply
        return reply


class ScriptedCallbacks:
    """Answers each delivery with the next scripted outcome, then "delivered"."""

    def __init__(self, *outcomes: CallbackOutcome) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, prompt: Prompt, webhook_id: str) -> CallbackOutcome:
        self.sent.append((prompt.id, prompt.status.value, webhook_id))
        return (
            self.outcomes.pop(0) if self.outcomes else CallbackOutcome(delivered=True, status="200")
        )


class RoomPacer:
    """Paces ``providers``: a permit at once while ``open``, else a place in one FIFO room."""

    def __init__(self, *providers: str, open_: bool = True, wait: float = 3.0) -> None:
        self.providers = providers
        self.open = open_
        self.wait = wait
        self.room: list[Job] = []
        self.callers: list[str] = []
        self.released: list[tuple[Permit, int]] = []
        self.pauses: list[tuple[str, float]] = []

    def paces(self, provider: str) -> bool:
        return provider in self.providers

    async def admit(
        self, provider: str, job: Job, caller: str, share: Share, priority: Priority
    ) -> Admitted:
        self.callers.append(caller)
        if self.open:
            return Admitted(permit=Permit(provider, job.prompt_id))
        if any(waiting.prompt_id == job.prompt_id for waiting in self.room):
            return Admitted()
        self.room.append(job)
        return Admitted(estimated_wait=self.wait)

    async def take(self, provider: str) -> Taken:
        if not self.room:
            return Taken()
        job = self.room.pop(0)
        return Taken(job, Permit(provider, job.prompt_id))

    async def release(self, permit: Permit, tokens: int = 0) -> None:
        self.released.append((permit, tokens))

    async def pause(self, provider: str, seconds: float) -> None:
        self.pauses.append((provider, seconds))

    async def held(self, prompt_ids: Iterable[str]) -> set[str]:
        return {job.prompt_id for job in self.room} & set(prompt_ids)

    async def idle(self, provider: str, seconds: float) -> None:
        await asyncio.sleep(0.001)


class RecordingDeliveryMeter:
    """A DeliveryMeter that keeps what it was told."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, int]] = []

    def callback_attempted(self, outcome: str, attempts: int) -> None:
        self.attempts.append((outcome, attempts))
