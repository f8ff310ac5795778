"""RedisPromptRepository against a real Redis server."""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from ai_gateway.application.errors import ConcurrencyConflict, DependencyUnavailable
from ai_gateway.application.ports.prompts import IdempotencyClaim, InvalidCursor, PromptFilter
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import Fault, ObjectRef, PromptResponse
from ai_gateway.integration.redis_prompt_repository import MAX_SCAN, RedisPromptRepository
from tests.factories import T0
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


async def test_a_prompt_round_trips_with_every_field(repo: RedisPromptRepository) -> None:
    prompt = new_prompt(
        kind="mosaic_item",
        context={"flags": {"improve_stem": True}, "item_id": "abc", "n": [1, 2.5, None]},
        callback_url="https://mosaic.example/cb",
        data_url="https://mosaic.example/data.zip",
        request_id="r-1",
        metadata={"lang": "fr", "é": "ü"},
    )
    await repo.add(prompt)
    prompt.start_preparing(T0 + timedelta(seconds=1))
    prompt.mark_prepared(
        T0 + timedelta(seconds=2), (ObjectRef("original", "k/data.zip", 10, "application/zip"),)
    )
    prompt.mark_submitted(T0 + timedelta(seconds=3))
    prompt.record_response(PromptResponse.of("fine", {"tokens": 3}, T0 + timedelta(seconds=4)))
    await repo.save(prompt)
    prompt.pull_events()

    loaded = await repo.get(prompt.id)

    assert loaded == prompt
    assert loaded is not None
    assert loaded.version == 2


async def test_reading_an_unknown_or_malformed_id_finds_nothing(
    repo: RedisPromptRepository,
) -> None:
    assert await repo.get("0" * 32) is None
    assert await repo.get("*") is None
    assert await repo.get("../etc") is None


async def test_a_save_from_a_stale_copy_is_a_conflict(repo: RedisPromptRepository) -> None:
    prompt = new_prompt()
    await repo.add(prompt)
    stale = copy.deepcopy(prompt)
    prompt.cancel(T0 + timedelta(seconds=1))
    await repo.save(prompt)

    stale.fail(Fault("x", "y"), T0 + timedelta(seconds=2))
    with pytest.raises(ConcurrencyConflict):
        await repo.save(stale)
    stored = await repo.get(prompt.id)
    assert stored is not None
    assert stored.status is PromptStatus.CANCELLED


async def test_of_two_concurrent_conflicting_transitions_exactly_one_wins(
    repo: RedisPromptRepository,
) -> None:
    for _ in range(20):
        prompt = new_prompt()
        await repo.add(prompt)
        cancel, fault = await repo.get(prompt.id), await repo.get(prompt.id)
        assert cancel is not None
        assert fault is not None
        cancel.cancel(T0 + timedelta(seconds=1))
        fault.fail(Fault("genai_timeout", "late"), T0 + timedelta(seconds=1))

        results = await asyncio.gather(repo.save(cancel), repo.save(fault), return_exceptions=True)

        assert sorted(type(r).__name__ for r in results) == ["ConcurrencyConflict", "NoneType"]
        stored = await repo.get(prompt.id)
        assert stored is not None
        winner = cancel if results[0] is None else fault
        assert stored.status is winner.status
        assert stored.version == 2


async def test_an_idempotency_claim_is_taken_once_even_under_concurrency(
    repo: RedisPromptRepository,
) -> None:
    claim = IdempotencyClaim("a" * 64, "fp-1")
    prompts = [new_prompt(i) for i in range(10)]

    results = await asyncio.gather(*(repo.add(p, claim) for p in prompts))

    created = [p for p, r in zip(prompts, results, strict=True) if r is None]
    assert len(created) == 1
    assert {r.prompt_id for r in results if r is not None} == {created[0].id}
    assert all(
        r.fingerprint == "fp-1" and r.created_at == created[0].created_at for r in results if r
    )
    assert [await repo.get(p.id) is not None for p in prompts].count(True) == 1


async def test_the_idempotency_record_expires_after_its_ttl(
    redis_client: Redis, key_prefix: str
) -> None:
    repo = RedisPromptRepository(redis_client, prefix=key_prefix, idempotency_ttl_seconds=60)
    await repo.add(new_prompt(), IdempotencyClaim("b" * 64, "fp"))
    ttl = await redis_client.ttl(f"{key_prefix}:idem:{'b' * 64}")
    assert 55 <= ttl <= 60


async def test_listing_pages_newest_first_without_gaps_or_repeats(
    repo: RedisPromptRepository,
) -> None:
    prompts = [new_prompt(i) for i in range(23)]
    for p in prompts:
        await repo.add(p)
    await repo.add(new_prompt(99, owner="apikey:other"))

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await repo.list(PromptFilter(owner=OWNER), 5, cursor)
        seen += [p.id for p in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == [p.id for p in reversed(prompts)]
    assert pages == 5


async def test_listing_follows_status_changes(repo: RedisPromptRepository) -> None:
    prompts = [new_prompt(i) for i in range(6)]
    for p in prompts:
        await repo.add(p)
    for p in prompts[:2]:
        p.cancel(T0 + timedelta(seconds=1))
        await repo.save(p)

    cancelled = await repo.list(PromptFilter(owner=OWNER, status=PromptStatus.CANCELLED), 10, None)
    created = await repo.list(PromptFilter(owner=OWNER, status=PromptStatus.CREATED), 10, None)
    everyone_cancelled = await repo.list(
        PromptFilter(owner=None, status=PromptStatus.CANCELLED), 10, None
    )

    assert {p.id for p in cancelled.items} == {p.id for p in prompts[:2]}
    assert {p.id for p in created.items} == {p.id for p in prompts[2:]}
    assert {p.id for p in everyone_cancelled.items} == {p.id for p in prompts[:2]}


async def test_listing_combines_request_id_status_and_kind(repo: RedisPromptRepository) -> None:
    a = new_prompt(1, request_id="batch-7", kind="mosaic_item")
    b = new_prompt(2, request_id="batch-7")
    c = new_prompt(3, request_id="batch-8", kind="mosaic_item")
    d = new_prompt(4, request_id="batch-7", kind="mosaic_item", owner="apikey:other")
    for p in (a, b, c, d):
        await repo.add(p)

    mine = await repo.list(PromptFilter(OWNER, kind="mosaic_item", request_id="batch-7"), 10, None)
    none = await repo.list(
        PromptFilter(OWNER, status=PromptStatus.FAULTED, request_id="batch-7"), 10, None
    )
    everyone = await repo.list(PromptFilter(None, request_id="batch-7"), 10, None)

    assert [p.id for p in mine.items] == [a.id]
    assert none.items == ()
    assert [p.id for p in everyone.items] == [d.id, b.id, a.id]


async def test_a_sparse_filter_returns_short_pages_with_a_cursor(
    repo: RedisPromptRepository,
) -> None:
    wanted = new_prompt(0, kind="rare")
    await repo.add(wanted)
    for i in range(1, MAX_SCAN + 10):
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


@pytest.mark.parametrize("cursor", ["!!!", "Zm9v", "MDAwMDAwMDAwMDAwMDp4"])
async def test_a_cursor_the_store_did_not_issue_is_refused(
    repo: RedisPromptRepository, cursor: str
) -> None:
    with pytest.raises(InvalidCursor):
        await repo.list(PromptFilter(OWNER), 5, cursor)


async def test_settled_prompts_disappear_with_their_index_entries_after_retention(
    redis_client: Redis, key_prefix: str
) -> None:
    repo = RedisPromptRepository(redis_client, prefix=key_prefix, retention_seconds=1)
    settled, active = new_prompt(1), new_prompt(2)
    await repo.add(settled)
    await repo.add(active)
    settled.cancel(T0 + timedelta(seconds=1))
    await repo.save(settled)
    assert await repo.get(settled.id) is not None

    await asyncio.sleep(1.1)
    assert await repo.get(settled.id) is None
    await repo.add(new_prompt(3))  # every write sweeps what is due

    keys = await redis_client.keys(f"{key_prefix}:*")
    members = [m for k in keys if ":ix:" in k for m in await redis_client.zrange(k, 0, -1)]
    assert not any(settled.id in m for m in members)
    assert f"{key_prefix}:prompt:{settled.id}" not in keys
    assert await repo.get(active.id) is not None


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
