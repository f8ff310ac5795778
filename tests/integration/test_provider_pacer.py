"""The provider pacer's scheduling against a real Redis: permits, the shared pause, the token
window and the fair order of the wait room."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from redis.asyncio import Redis

from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.application.ports.pacing import Permit, Share
from ai_gateway.domain.limits import Priority, ProviderLimit, Rate
from ai_gateway.integration.redis_pacing import RedisProviderPacer

pytestmark = pytest.mark.integration

P = "openai"


def pacer(redis: Redis, prefix: str, lease: float = 60.0, **limit: object) -> RedisProviderPacer:
    return RedisProviderPacer(
        redis, prefix=prefix, limits={P: ProviderLimit(**limit)},  # type: ignore[arg-type]
        lease_seconds=lease, max_pause_seconds=60,
    )  # fmt: skip


def job(prompt_id: str, attempt: int = 1) -> Job:
    return Job(JobStep.SUBMIT, prompt_id, attempt)


async def queue(
    p: RedisProviderPacer, owner: str, ids: list[str], priority: Priority = Priority.BATCH,
    weight: float = 1.0,
) -> None:  # fmt: skip
    for prompt_id in ids:
        admitted = await p.admit(P, job(prompt_id), owner, Share(weight), priority)
        assert admitted.waits, prompt_id


async def drain(p: RedisProviderPacer, count: int) -> list[str]:
    """Takes ``count`` submissions in order, releasing each permit at once."""
    order: list[str] = []
    while len(order) < count:
        taken = await p.take(P)
        if taken.job is None:
            assert taken.wait is not None, "the room is empty"
            await asyncio.sleep(taken.wait)
            continue
        assert taken.permit is not None
        order.append(taken.job.prompt_id)
        await p.release(taken.permit)
    return order


async def fill(p: RedisProviderPacer) -> Permit:
    """Puts a prompt in flight so that the room is used (an empty room grants at once)."""
    admitted = await p.admit(P, job("first"), "apikey:x", Share(), Priority.BATCH)
    assert admitted.permit is not None
    return admitted.permit


async def test_an_empty_room_grants_at_once_then_the_rate_makes_prompts_wait(
    redis_client: Redis, key_prefix: str
) -> None:
    p = pacer(redis_client, key_prefix, requests=Rate(10, 1))
    first = await p.admit(P, job("a"), "apikey:x", Share(), Priority.BATCH)
    second = await p.admit(P, job("b"), "apikey:x", Share(), Priority.BATCH)
    again = await p.admit(P, job("b", 2), "apikey:x", Share(), Priority.BATCH)

    assert first.permit is not None
    assert second.permit is None
    assert second.estimated_wait is not None
    assert 0 < second.estimated_wait <= 0.1
    assert not again.waits
    assert again.permit is None
    assert await p.held(["a", "b", "c"]) == {"a", "b"}


async def test_the_request_rate_holds_across_pacers_sharing_redis(
    redis_client: Redis, key_prefix: str
) -> None:
    workers = [pacer(redis_client, key_prefix, requests=Rate(20, 1)) for _ in range(3)]
    await fill(workers[0])
    await queue(workers[0], "apikey:x", [f"p{i}" for i in range(12)])
    granted: list[float] = []

    async def work(p: RedisProviderPacer) -> None:
        while len(granted) < 12:
            taken = await p.take(P)
            if taken.permit is None:
                if taken.wait is None:
                    return
                await asyncio.sleep(taken.wait)
                continue
            granted.append(time.monotonic())
            await p.release(taken.permit)

    await asyncio.gather(*(work(p) for p in workers))
    gaps = [b - a for a, b in itertools.pairwise(granted)]
    assert len(granted) == 12
    assert min(gaps) >= 0.04  # 20/second: 50 ms apart, less the scheduling noise
    assert granted[-1] - granted[0] >= 0.5


async def test_a_pause_stops_every_pacer_until_it_ends(
    redis_client: Redis, key_prefix: str
) -> None:
    one, other = pacer(redis_client, key_prefix), pacer(redis_client, key_prefix)
    await one.pause(P, 0.4)
    await other.pause(P, 0.1)  # a shorter pause does not cut the longer one
    admitted = await other.admit(P, job("a"), "apikey:x", Share(), Priority.BATCH)
    taken = await one.take(P)

    assert admitted.estimated_wait is not None
    assert admitted.estimated_wait > 0.3
    assert taken.permit is None
    assert taken.wait is not None
    assert taken.wait > 0.3
    await asyncio.sleep(taken.wait)
    assert (await one.take(P)).permit is not None


async def test_concurrency_counts_permits_out_until_released_or_their_lease_ends(
    redis_client: Redis, key_prefix: str
) -> None:
    p = pacer(redis_client, key_prefix, lease=0.3, concurrency=1)
    held = await p.admit(P, job("a"), "apikey:x", Share(), Priority.BATCH)
    await queue(p, "apikey:x", ["b"])
    refused = await p.take(P)
    await asyncio.sleep(0.35)  # the holder died: its lease ends
    taken = await p.take(P)

    assert held.permit is not None
    assert refused.permit is None
    assert taken.job == job("b")
    assert await p.held(["a"]) == set()


async def test_tokens_used_close_the_window_until_the_next_one(
    redis_client: Redis, key_prefix: str
) -> None:
    p = pacer(redis_client, key_prefix, tokens=Rate(100, 2))
    # Token windows are aligned to the clock: not in a window's last half second, so that the
    # refusal below falls in the window the tokens were debited from.
    await asyncio.sleep(-time.time() % 2 if time.time() % 2 > 1.5 else 0)
    first = await p.admit(P, job("a"), "apikey:x", Share(), Priority.BATCH)
    assert first.permit is not None
    await p.release(first.permit, tokens=150)
    refused = await p.admit(P, job("b"), "apikey:x", Share(), Priority.BATCH)
    taken = await p.take(P)

    assert refused.estimated_wait is not None
    assert 0 < refused.estimated_wait <= 2
    assert taken.permit is None
    assert taken.wait is not None
    await asyncio.sleep(taken.wait)
    assert (await p.take(P)).job == job("b")


async def test_callers_alternate_by_weight_and_a_latecomer_gets_no_credit(
    redis_client: Redis, key_prefix: str
) -> None:
    p = pacer(redis_client, key_prefix, concurrency=1)
    first = await fill(p)
    await queue(p, "apikey:a", [f"a{i}" for i in range(8)])
    await p.release(first)
    assert await drain(p, 2) == ["a0", "a1"]
    await queue(p, "apikey:b", [f"b{i}" for i in range(4)], weight=2.0)

    order = await drain(p, 9)

    assert order[:6] == ["b0", "b1", "a2", "b2", "b3", "a3"]
    assert order[6:] == ["a4", "a5", "a6"]


async def test_interactive_prompts_overtake_their_callers_batch(
    redis_client: Redis, key_prefix: str
) -> None:
    p = pacer(redis_client, key_prefix, concurrency=1)
    first = await fill(p)
    await queue(p, "apikey:a", ["a0", "a1", "a2"])
    await queue(p, "apikey:a", ["urgent"], Priority.INTERACTIVE)
    await p.release(first)

    assert await drain(p, 4) == ["urgent", "a0", "a1", "a2"]


async def test_a_prompt_taken_keeps_its_attempt_and_an_empty_room_says_so(
    redis_client: Redis, key_prefix: str
) -> None:
    p = pacer(redis_client, key_prefix, concurrency=1)
    first = await fill(p)
    await p.admit(P, job("a", 3), "jwt:some:one", Share(), Priority.BATCH)
    await p.release(first)

    taken = await p.take(P)

    assert taken.job == job("a", 3)
    assert await p.take(P) == type(taken)()
