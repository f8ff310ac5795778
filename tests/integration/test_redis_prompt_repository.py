"""What the Redis prompt store does beyond the port's contract (tests/contract): key layout,
index bounds, and how it fails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.asyncio import Redis

from ai_gateway.application.errors import AdmissionRefused, DependencyUnavailable
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.application.ports.limits import Refusal
from ai_gateway.application.ports.prompts import Admission, IdempotencyClaim, PromptFilter
from ai_gateway.domain.limits import CallerLimits
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import PromptResponse, TokenUsage
from ai_gateway.integration import redis_prompt_repository
from ai_gateway.integration.redis_job_scripts import WAITING_MARGIN_MS
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from ai_gateway.integration.redis_prompt_scripts import (
    ANSWER_TIMES_KEPT,
    HOUR_COUNTS_TTL,
    MINUTE_COUNTS_TTL,
)
from tests.factories import T0, ManualClock, walk
from tests.servers import free_port

pytestmark = pytest.mark.integration

OWNER = "apikey:mosaic"


def new_prompt(i: int = 0, *, owner: str = OWNER, **fields: object) -> Prompt:
    return Prompt.create(
        owner=owner,
        content=f"prompt {i}",
        at=T0 + timedelta(milliseconds=i),
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
def repo(redis_client: Redis, key_prefix: str) -> RedisPromptRepository:
    return RedisPromptRepository(redis_client, prefix=key_prefix)


async def test_the_idempotency_record_expires_after_its_ttl(
    redis_client: Redis, key_prefix: str
) -> None:
    repo = RedisPromptRepository(redis_client, prefix=key_prefix, idempotency_ttl_seconds=60)
    await repo.add(new_prompt(), IdempotencyClaim("b" * 64, "fp"))
    ttl = await redis_client.ttl(RedisKeys(key_prefix).idempotency("b" * 64))
    assert 55 <= ttl <= 60


async def test_a_creation_queues_its_first_job_in_the_same_write_and_a_replay_none(
    repo: RedisPromptRepository, redis_client: Redis, key_prefix: str
) -> None:
    traceparent = "00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    prompt = new_prompt(traceparent=traceparent, tracestate="k=v")
    claim = IdempotencyClaim("c" * 64, "fp")
    await repo.add(prompt, claim, first_job=Job.of(JobStep.PREPARE, prompt))
    again = new_prompt(1)
    replayed = await repo.add(again, claim, first_job=Job.of(JobStep.PREPARE, again))

    keys = RedisKeys(key_prefix)
    ((entry, fields),) = await redis_client.xrange(keys.jobs) or []
    assert fields == {
        "step": "prepare",
        "prompt_id": prompt.id,
        "attempt": "1",
        "traceparent": traceparent,
        "tracestate": "k=v",
    }
    assert await redis_client.smembers(keys.jobs_waiting(prompt.id)) == {entry}
    assert 0 < await redis_client.pttl(keys.jobs_waiting(prompt.id)) <= WAITING_MARGIN_MS
    assert replayed.earlier is not None
    assert replayed.earlier.prompt_id == prompt.id


async def test_a_sparse_filter_returns_short_pages_with_a_cursor(
    repo: RedisPromptRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    max_scan = 60  # the bound, lowered so that a few prompts exceed it
    assert max_scan < redis_prompt_repository.MAX_SCAN
    monkeypatch.setattr(redis_prompt_repository, "MAX_SCAN", max_scan)
    wanted = new_prompt(0, kind="rare")
    await repo.add(wanted)
    for i in range(1, max_scan + 10):
        await repo.add(new_prompt(i))

    first = await repo.list(PromptFilter(OWNER, kind="rare"), 5, None)
    second = await repo.list(PromptFilter(OWNER, kind="rare"), 5, first.next_cursor)

    assert first.items == ()
    assert first.next_cursor is not None
    assert [p.id for p in second.items] == [wanted.id]
    assert second.next_cursor is None


async def test_owner_and_request_ids_cannot_forge_index_keys(repo: RedisPromptRepository) -> None:
    victim = new_prompt(1, owner="apikey:a", request_id="x")
    forger = new_prompt(2, owner="apikey:a:r:x")
    await repo.add(victim)
    await repo.add(forger)

    page = await repo.list(PromptFilter("apikey:a:r:x"), 10, None)
    assert [p.id for p in page.items] == [forger.id]


async def test_a_write_sweeps_the_records_and_index_entries_past_retention(
    redis_client: Redis, key_prefix: str
) -> None:
    clock = ManualClock()
    repo = RedisPromptRepository(redis_client, prefix=key_prefix, retention_seconds=1, clock=clock)
    settled = new_prompt(1)
    await repo.add(settled)
    settled.cancel(T0 + timedelta(seconds=1))
    await repo.save(settled)

    clock.now += 1.1
    await repo.add(new_prompt(3))

    keys = RedisKeys(key_prefix)
    cancelled = PromptStatus.CANCELLED.value
    indexes = [
        keys.index(),
        keys.index(owner=OWNER),
        keys.index(status=cancelled),
        keys.index(owner=OWNER, status=cancelled),
    ]
    members = [m for k in indexes for m in await redis_client.zrange(k, 0, -1)]
    assert members
    assert not any(settled.id in m for m in members)
    assert not await redis_client.exists(keys.prompt(settled.id))
    assert await redis_client.zcard(keys.retention) == 0


async def test_the_counts_of_a_minute_and_of_an_hour_expire(
    redis_client: Redis, key_prefix: str
) -> None:
    clock = ManualClock()
    repo = RedisPromptRepository(redis_client, prefix=key_prefix, clock=clock)
    prompt = new_prompt()
    await repo.add(prompt)
    clock.now += 1
    walk(prompt, PromptStatus.PREPARING, T0)
    await repo.save(prompt)
    await repo.add(new_prompt(1))

    keys, minute = RedisKeys(key_prefix), int(clock.now // 60)
    for key, life in (
        (keys.stats_minute(minute), MINUTE_COUNTS_TTL),
        (keys.stats_hour(minute // 60), HOUR_COUNTS_TTL),
    ):
        assert await redis_client.hgetall(key) == {"created": "2", "preparing": "1"}
        assert life - 5 <= await redis_client.ttl(key) <= life


async def test_the_latest_answer_times_are_kept_and_no_more(
    repo: RedisPromptRepository, redis_client: Redis, key_prefix: str
) -> None:
    keys = RedisKeys(key_prefix)
    await redis_client.rpush(keys.answer_times, *["1"] * ANSWER_TIMES_KEPT)
    prompt = new_prompt()
    await repo.add(prompt)
    walk(prompt, PromptStatus.COMPLETED, T0 + timedelta(seconds=2))
    await repo.save(prompt)

    assert await redis_client.llen(keys.answer_times) == ANSWER_TIMES_KEPT
    assert await redis_client.lindex(keys.answer_times, 0) == "2000"


async def test_a_callers_token_budget_is_spent_by_every_subject_it_creates_for(
    repo: RedisPromptRepository, key_prefix: str
) -> None:
    # two users' tokens issued to one client: the budget is the client's, not each user's
    admission = Admission("reviews-app", CallerLimits(tokens_per_day=10))
    first = new_prompt(0, owner="jwt:ana", caller="reviews-app")
    await repo.add(first, None, admission)
    walk(first, PromptStatus.SUBMITTED, T0)
    first.record_response(PromptResponse.of("ok", {}, T0), TokenUsage.of(4, 6))
    await repo.save(first)

    with pytest.raises(AdmissionRefused) as refused:
        await repo.add(new_prompt(1, owner="jwt:ben", caller="reviews-app"), None, admission)

    assert refused.value.reason is Refusal.BUDGET
    assert refused.value.standing is not None
    assert refused.value.standing.tokens_used == 10
    other = Admission("other-app", admission.limits)
    added = await repo.add(new_prompt(2, owner="jwt:ana", caller="other-app"), None, other)
    assert added.standing is not None
    assert added.standing.tokens_used == 0


async def test_an_unreachable_redis_is_reported_as_unavailable() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    repo = RedisPromptRepository(client, prefix="down")
    try:
        with pytest.raises(DependencyUnavailable):
            await repo.get("0" * 32)
        with pytest.raises(DependencyUnavailable):
            await repo.add(new_prompt())
    finally:
        await client.aclose()
