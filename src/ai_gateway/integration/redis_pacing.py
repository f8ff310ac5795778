"""Provider pacing in Redis: every worker process shares one set of permits and one wait room per
paced provider (``redis_pacing_scripts``, ADR 0020).

Keys, under the gateway's prefix ``P``: ``P:pace:{provider}:callers``, ``:members``,
``:weights``, ``:finish``, ``:clock``, ``:inflight``, ``:tat``, ``:paused``, and, built by the
scripts, ``:q:{caller}:{priority}`` (a caller's waiting prompts) and ``:tokens:{window}``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping

from redis.asyncio import Redis

from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.application.ports.pacing import Admitted, Permit, Share, Taken
from ai_gateway.domain.limits import Priority, ProviderLimit
from ai_gateway.integration.redis_errors import redis_errors
from ai_gateway.integration.redis_keys import key_part
from ai_gateway.integration.redis_pacing_scripts import (
    ADMIT,
    PAUSE,
    RELEASE,
    TAKE,
    AdmitArgs,
    Limits,
    PaceKeys,
    PauseArgs,
    PauseKeys,
    ReleaseArgs,
)


def _limits(limit: ProviderLimit, lease_seconds: float) -> Limits:
    requests, tokens = limit.requests, limit.tokens
    return Limits(
        interval_ms=max(round(requests.seconds * 1000 / requests.count), 1) if requests else 0,
        burst=limit.burst,
        concurrency=limit.concurrency or 0,
        token_limit=tokens.count if tokens else 0,
        token_period_ms=tokens.seconds * 1000 if tokens else 1000,
        lease_ms=max(round(lease_seconds * 1000), 1),
    )


class RedisProviderPacer:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        limits: Mapping[str, ProviderLimit],
        lease_seconds: float,
        max_pause_seconds: float,
    ) -> None:
        """``lease_seconds``: how long a permit outlives a worker that died holding it; it must
        exceed the longest provider call."""
        self._redis = redis
        self._prefix = prefix
        self._limits = {name: _limits(limit, lease_seconds) for name, limit in limits.items()}
        self._max_pause = max_pause_seconds
        self._admit = ADMIT.bind(redis)
        self._take = TAKE.bind(redis)
        self._release = RELEASE.bind(redis)
        self._pause = PAUSE.bind(redis)
        self._arrivals = {name: asyncio.Event() for name in limits}

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(self._limits)

    def paces(self, provider: str) -> bool:
        return provider in self._limits

    async def admit(self, provider: str, job: Job, caller: str, share: Share, priority: Priority
                    ) -> Admitted:  # fmt: skip
        args = AdmitArgs(
            *self._limits[provider],
            prompt_id=job.prompt_id,
            item=f"{job.prompt_id}:{job.attempt}",
            caller=key_part(caller),
            priority=priority.value,
            weight=share.weight,
        )
        async with redis_errors():
            outcome, wait_ms = await self._admit(self._keys(provider), args)
        if outcome == "granted":
            return Admitted(permit=Permit(provider, job.prompt_id))
        if outcome == "queued":
            self._arrivals[provider].set()
            return Admitted(estimated_wait=int(wait_ms) / 1000)
        return Admitted()

    async def take(self, provider: str) -> Taken:
        async with redis_errors():
            item, wait_ms = await self._take(self._keys(provider), self._limits[provider])
        if not item:
            return Taken(wait=None if int(wait_ms) < 0 else int(wait_ms) / 1000)
        prompt_id, _, attempt = str(item).partition(":")
        return Taken(Job(JobStep.SUBMIT, prompt_id, int(attempt)), Permit(provider, prompt_id))

    async def release(self, permit: Permit, tokens: int = 0) -> None:
        limits = self._limits[permit.provider]
        args = ReleaseArgs(*limits, prompt_id=permit.prompt_id, tokens=max(tokens, 0))
        async with redis_errors():
            await self._release(self._keys(permit.provider), args)

    async def pause(self, provider: str, seconds: float) -> None:
        milliseconds = round(min(seconds, self._max_pause) * 1000)
        if milliseconds <= 0 or provider not in self._limits:
            return
        async with redis_errors():
            await self._pause(PauseKeys(self._keys(provider).paused), PauseArgs(milliseconds))

    async def held(self, prompt_ids: Iterable[str]) -> set[str]:
        ids = list(prompt_ids)
        if not ids or not self._limits:
            return set()
        async with redis_errors(), self._redis.pipeline(transaction=False) as pipe:
            pipe.time()  # leases end by Redis's clock, as the scripts set them
            for provider in self._limits:
                keys = self._keys(provider)
                pipe.hmget(keys.members, ids)
                pipe.zmscore(keys.inflight, ids)
            (seconds, micros), *replies = await pipe.execute()
        now_ms = seconds * 1000 + micros // 1000
        held: set[str] = set()
        for members, leases in zip(replies[::2], replies[1::2], strict=True):
            for prompt_id, member, lease in zip(ids, members, leases, strict=True):
                if member is not None or (lease is not None and lease > now_ms):
                    held.add(prompt_id)
        return held

    async def idle(self, provider: str, seconds: float) -> None:
        arrival = self._arrivals[provider]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrival.wait(), seconds)
        arrival.clear()

    def _keys(self, provider: str) -> PaceKeys:
        base = f"{self._prefix}:pace:{key_part(provider)}"
        return PaceKeys(
            base=base,
            callers=f"{base}:callers",
            members=f"{base}:members",
            weights=f"{base}:weights",
            finish=f"{base}:finish",
            clock=f"{base}:clock",
            inflight=f"{base}:inflight",
            tat=f"{base}:tat",
            paused=f"{base}:paused",
        )
