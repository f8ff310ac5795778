"""The prompt store in Redis (ADR 0002).

A prompt is a hash (``d`` JSON record, ``v`` version, ``o`` owner, ``s`` status, ``r`` request
id, ``m`` index member, ``x`` retention deadline in ms once settled), listed through sorted sets
(all scores 0) whose members ``{sequence:016d}:{id}`` sort in creation order, so a listing is a
ZRANGE BYLEX and a cursor is the last member seen: no KEYS or SCAN on any request. Settled prompts
past their deadline are removed, with their index entries, a few at a time by every write. Prompts
that owe a callback are kept in ``P:deliveries:due``, scored by when it is due (ADR 0018), those
whose callback was dead-lettered in ``P:deliveries:dead``, by when (ADR 0023). Key
names are in ``redis_keys``; every write is one script of ``redis_prompt_scripts``, a creation's
with the prompt's first job (ADR 0028).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from redis.asyncio import Redis

from ai_gateway.application.errors import ConcurrencyConflict, DependencyUnavailable
from ai_gateway.application.ports.jobs import Job
from ai_gateway.application.ports.prompts import (
    Added,
    Admission,
    IdempotencyClaim,
    IdempotencyRecord,
    Page,
    PromptFilter,
)
from ai_gateway.domain.events import PromptEvent, PromptResponseReceived
from ai_gateway.domain.prompt import Prompt, PromptStatus, is_prompt_id
from ai_gateway.integration.event_outbox import outbox_entries
from ai_gateway.integration.prompt_codec import dump_prompt, load_prompt
from ai_gateway.integration.redis_admission import raise_if_refused
from ai_gateway.integration.redis_batches import CommandBatches
from ai_gateway.integration.redis_errors import redis_errors
from ai_gateway.integration.redis_keys import RedisKeys, key_part
from ai_gateway.integration.redis_listing import Residual, decode_cursor, encode_cursor
from ai_gateway.integration.redis_prompt_scores import answer_ms, dead_letter_ms, delivery_due_ms
from ai_gateway.integration.redis_prompt_scripts import (
    CREATE,
    OUTBOX_FULL,
    SAVE,
    CreateArgs,
    CreateKeys,
    SaveArgs,
    SaveKeys,
)
from ai_gateway.integration.redis_replication import ArgsT, KeysT, ReplicatedWrites
from ai_gateway.integration.redis_scripts import BoundScript

MAX_SCAN: Final = 1000
"""Index members one listing call may look at before it returns a short page and a cursor."""


def _live_prompt(row: Sequence[object], now_ms: int) -> Prompt | None:
    """The prompt in an HMGET d, v, x reply, unless absent or past its retention deadline."""
    raw, version, deadline = row
    if raw is None or (deadline is not None and int(str(deadline)) <= now_ms):
        return None
    return load_prompt(str(raw), int(str(version)))


class RedisPromptRepository:
    """PromptRepository on Redis; ``retention_seconds`` 0 keeps settled prompts forever."""

    def __init__(  # noqa: PLR0913 - keyword-only configuration
        self,
        redis: Redis,
        *,
        prefix: str = "gw",
        retention_seconds: int = 0,
        idempotency_ttl_seconds: int = 86_400,
        publish_events: bool = False,
        outbox_bound: int = 100_000,
        backlog_max: int = 0,
        clock: Callable[[], float] = time.time,
        on_write: Callable[[Prompt, Sequence[PromptEvent]], None] | None = None,
        replicated: ReplicatedWrites | None = None,
    ) -> None:
        """With ``publish_events``, each write also appends the prompt's new lifecycle events to
        the outbox stream, in the same script; past ``outbox_bound`` waiting
        events, new prompts are refused (DependencyUnavailable) rather than events dropped.
        Past ``backlog_max`` prompts waiting for a provider (0: no bound), new prompts are
        refused (AdmissionRefused). Retention deadlines are reckoned by ``clock``, in seconds
        since the epoch. ``on_write`` hears of each write that won, with the events it stored
        (for the metrics). With ``replicated``, a write returns only once the replicas have it."""
        self._clock = clock
        self._on_write = on_write
        self._replicated = replicated
        self._backlog_max = backlog_max
        self._redis = redis
        self._publish = publish_events
        self._outbox_bound = outbox_bound
        self._keys = RedisKeys(prefix)
        self._retention_ms = retention_seconds * 1000
        self._idempotency_ttl = idempotency_ttl_seconds
        self._create = CREATE.bind(redis)
        self._save = SAVE.bind(redis)
        self._batches = CommandBatches(redis)

    def _entries(self, prompt: Prompt, events: list[PromptEvent]) -> list[str]:
        """The prompt's new events as outbox entries (none without publishing: the events are
        consumed either way, so they are never sent twice)."""
        return outbox_entries(prompt, events) if self._publish else []

    def _written(self, prompt: Prompt, events: list[PromptEvent]) -> None:
        if self._on_write is not None:
            self._on_write(prompt, events)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def add(
        self,
        prompt: Prompt,
        idempotency: IdempotencyClaim | None = None,
        admission: Admission | None = None,
        first_job: Job | None = None,
    ) -> Added:
        keys = CreateKeys(self._keys.prompt(prompt.id))
        events = prompt.pull_events()
        limits = None if admission is None else admission.limits
        args = CreateArgs(
            prefix=self._keys.prefix,
            data=dump_prompt(prompt),
            owner=key_part(prompt.owner),
            status=prompt.status.value,
            request_id=key_part(prompt.request_id or ""),
            prompt_id=prompt.id,
            now_ms=self._now_ms(),
            outbox_bound=self._outbox_bound if self._publish else 0,
            backlog_max=self._backlog_max,
            events=self._entries(prompt, events),
        )
        if first_job is not None:
            args = args._replace(
                job_step=first_job.step.value,
                job_attempt=first_job.attempt,
                traceparent=first_job.traceparent or "",
                tracestate=first_job.tracestate or "",
            )
        if admission is not None:
            rate = admission.limits.requests
            args = args._replace(
                rate_key=self._keys.caller_rate(admission.caller),
                rate_count=0 if rate is None else rate.count,
                rate_period_ms=0 if rate is None else rate.seconds * 1000,
                in_flight=admission.limits.in_flight or 0,
                tokens_per_day=admission.limits.tokens_per_day or 0,
                caller=key_part(admission.caller),
            )
        if idempotency is not None:
            keys = keys._replace(idempotency=self._keys.idempotency(idempotency.key))
            record = {
                "prompt_id": prompt.id,
                "fingerprint": idempotency.fingerprint,
                "created_at": prompt.created_at.isoformat(),
            }
            args = args._replace(
                idempotency_record=json.dumps(record), idempotency_ttl=self._idempotency_ttl
            )
        async with redis_errors():
            reply = await self._write(self._create, keys, args)
        if reply == OUTBOX_FULL:
            raise DependencyUnavailable("event outbox")
        if isinstance(reply, list):
            standing = raise_if_refused(reply, limits)
            prompt.version = 1
            self._written(prompt, events)
            return Added(standing=standing)
        data = json.loads(reply)
        return Added(
            IdempotencyRecord(
                data["prompt_id"], data["fingerprint"], datetime.fromisoformat(data["created_at"])
            )
        )

    async def _write(self, script: BoundScript[KeysT, ArgsT], keys: KeysT, args: ArgsT) -> Any:
        if self._replicated is None:
            return await self._batches.script(script, keys, args)
        return await self._replicated.run(script, keys, args, unwaited=self._batches.script)

    async def get(self, prompt_id: str) -> Prompt | None:
        if not is_prompt_id(prompt_id):
            return None
        async with redis_errors():
            row = await self._batches.hmget(self._keys.prompt(prompt_id), ["d", "v", "x"])
        return _live_prompt(row, self._now_ms())

    async def save(self, prompt: Prompt) -> None:
        deadline = ""
        if prompt.is_terminal and self._retention_ms:
            deadline = str(self._now_ms() + self._retention_ms)
        events = prompt.pull_events()
        answered = any(isinstance(e, PromptResponseReceived) for e in events)
        args = SaveArgs(
            prefix=self._keys.prefix,
            prompt_id=prompt.id,
            expected_version=prompt.version,
            data=dump_prompt(prompt),
            status=prompt.status.value,
            deadline_ms=deadline,
            now_ms=self._now_ms(),
            delivery_due_ms=delivery_due_ms(prompt, self._now_ms()),
            dead_letter_ms=dead_letter_ms(prompt),
            answer_ms=answer_ms(prompt),
            tokens=prompt.usage.total_tokens if answered and prompt.usage else 0,
            caller=key_part(prompt.caller or prompt.owner),
            callback=1 if prompt.callback_url else 0,
            events=self._entries(prompt, events),
        )
        async with redis_errors():
            version = int(
                await self._write(self._save, SaveKeys(self._keys.prompt(prompt.id)), args)
            )
        if version <= 0:
            raise ConcurrencyConflict(prompt.id)
        prompt.version = version
        self._written(prompt, events)

    async def list(self, criteria: PromptFilter, limit: int, cursor: str | None) -> Page[Prompt]:
        index, residual = self._plan(criteria)
        upper = "+" if cursor is None else "(" + decode_cursor(cursor)
        found: list[tuple[str, Prompt]] = []
        scanned = 0
        async with redis_errors():
            while scanned < MAX_SCAN:
                # Every member matches unless a residual filter applies: then read ahead.
                wanted = limit + 1 if residual.is_trivial else max(2 * (limit + 1), 50)
                batch = min(wanted, MAX_SCAN - scanned)
                members = [
                    str(m)
                    for m in await self._redis.zrange(
                        index, upper, "-", desc=True, bylex=True, offset=0, num=batch
                    )
                ]
                scanned += len(members)
                loaded = await self._load_many(members)
                for member, prompt in zip(members, loaded, strict=True):
                    if prompt is not None and criteria.before_period(prompt):
                        return Page(tuple(p for _, p in found), None)
                    if prompt is not None and residual(prompt):
                        found.append((member, prompt))
                        if len(found) > limit:
                            return Page(
                                tuple(p for _, p in found[:limit]),
                                encode_cursor(found[limit - 1][0]),
                            )
                if len(members) < batch:
                    return Page(tuple(p for _, p in found), None)
                upper = "(" + members[-1]
        return Page(tuple(p for _, p in found), encode_cursor(upper[1:]))

    async def oldest(self, status: PromptStatus, limit: int) -> Sequence[Prompt]:
        index = self._keys.index(status=status.value)
        async with redis_errors():
            members = [
                str(m)
                for m in await self._redis.zrange(index, "-", "+", bylex=True, offset=0, num=limit)
            ]
            loaded = await self._load_many(members)
        return [p for p in loaded if p is not None and p.status is status]

    async def deliveries_due(self, before: datetime, limit: int) -> Sequence[Prompt]:
        upper = int(before.timestamp() * 1000)
        async with redis_errors():
            ids = await self._redis.zrange(
                self._keys.deliveries_due, "-inf", upper, byscore=True, offset=0, num=limit
            )
            loaded = await self._load_ids([str(i) for i in ids])
        return [p for p in loaded if p is not None and p.awaits_delivery]

    async def _load_many(self, members: Sequence[str]) -> Sequence[Prompt | None]:
        return await self._load_ids([member.partition(":")[2] for member in members])

    async def _load_ids(self, ids: Sequence[str]) -> Sequence[Prompt | None]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for prompt_id in ids:
                pipe.hmget(self._keys.prompt(prompt_id), ["d", "v", "x"])
            rows = await pipe.execute()
        now = self._now_ms()
        return [_live_prompt(row, now) for row in rows]

    def _plan(self, c: PromptFilter) -> tuple[str, Residual]:
        """Pick the narrowest index for the criteria; what it does not cover is filtered after."""
        if c.request_id is not None:
            index = self._keys.index(owner=c.owner, request_id=c.request_id)
            return index, Residual(c, status=c.status, kind=c.kind)
        if c.status is not None:
            return self._keys.index(owner=c.owner, status=c.status.value), Residual(c, kind=c.kind)
        return self._keys.index(owner=c.owner), Residual(c, kind=c.kind)
