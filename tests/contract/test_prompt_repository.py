"""The PromptRepository contract, run against the in-memory fake and the Redis adapter alike.

Handler tests trust the fake; this suite is what earns that trust. Whatever the Redis store does
that callers may rely on is asserted here for both, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from ai_gateway.application.errors import ConcurrencyConflict
from ai_gateway.application.ports.prompts import (
    IdempotencyClaim,
    InvalidCursor,
    PromptFilter,
    PromptRepository,
)
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import Fault, ObjectRef, PromptResponse
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from tests.factories import T0, ManualClock, walk
from tests.fakes import InMemoryPromptRepository

OWNER = "apikey:mosaic"
RETENTION_SECONDS = 60


@dataclass
class Store:
    repo: PromptRepository
    clock: ManualClock


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Store:
    clock = ManualClock()
    if request.param == "memory":
        return Store(
            InMemoryPromptRepository(retention_seconds=RETENTION_SECONDS, clock=clock), clock
        )
    redis: Redis = request.getfixturevalue("redis_client")
    prefix: str = request.getfixturevalue("key_prefix")
    repo = RedisPromptRepository(
        redis, prefix=prefix, retention_seconds=RETENTION_SECONDS, clock=clock
    )
    return Store(repo, clock)


@pytest.fixture
def repo(store: Store) -> PromptRepository:
    return store.repo


def new_prompt(i: int = 0, *, owner: str = OWNER, **fields: object) -> Prompt:
    return Prompt.create(
        owner=owner,
        content=f"prompt {i}",
        at=T0 + timedelta(milliseconds=i),
        **fields,  # type: ignore[arg-type]
    )


async def added(repo: PromptRepository, *prompts: Prompt) -> list[Prompt]:
    for prompt in prompts:
        await repo.add(prompt)
    return list(prompts)


async def every_page(repo: PromptRepository, criteria: PromptFilter, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = await repo.list(criteria, limit, cursor)
        pages.append([p.id for p in page.items])
        cursor = page.next_cursor
        if cursor is None:
            return pages


async def test_a_prompt_round_trips_with_every_field(repo: PromptRepository) -> None:
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

    loaded = await repo.get(prompt.id)

    assert loaded == prompt
    assert loaded is not None
    assert loaded.version == 2


async def test_each_write_takes_the_prompts_pending_events(repo: PromptRepository) -> None:
    prompt = new_prompt()
    await repo.add(prompt)
    assert prompt.pull_events() == []
    prompt.cancel(T0 + timedelta(seconds=1))
    await repo.save(prompt)
    assert prompt.pull_events() == []


async def test_reading_an_unknown_or_malformed_id_finds_nothing(repo: PromptRepository) -> None:
    assert await repo.get("0" * 32) is None
    assert await repo.get("*") is None
    assert await repo.get("../etc") is None


async def test_a_save_from_a_stale_copy_is_a_conflict_and_changes_nothing(
    repo: PromptRepository,
) -> None:
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
    assert (stored.status, stored.version) == (PromptStatus.CANCELLED, 2)


async def test_saving_a_prompt_that_was_never_added_is_a_conflict(repo: PromptRepository) -> None:
    prompt = new_prompt()
    prompt.version = 1
    with pytest.raises(ConcurrencyConflict):
        await repo.save(prompt)
    assert await repo.get(prompt.id) is None


async def test_of_two_concurrent_conflicting_transitions_exactly_one_wins(
    repo: PromptRepository,
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
    repo: PromptRepository,
) -> None:
    claim = IdempotencyClaim("a" * 64, "fp-1")
    prompts = [new_prompt(i) for i in range(10)]

    results = await asyncio.gather(*(repo.add(p, claim) for p in prompts))

    created = [p for p, r in zip(prompts, results, strict=True) if r is None]
    assert len(created) == 1
    assert created[0].version == 1
    assert {r.prompt_id for r in results if r is not None} == {created[0].id}
    assert all(
        r.fingerprint == "fp-1" and r.created_at == created[0].created_at for r in results if r
    )
    assert [await repo.get(p.id) is not None for p in prompts].count(True) == 1
    assert all(p.version == 0 for p in prompts if p is not created[0])


async def test_different_idempotency_keys_create_different_prompts(repo: PromptRepository) -> None:
    first, second = new_prompt(1), new_prompt(2)
    assert await repo.add(first, IdempotencyClaim("c" * 64, "fp")) is None
    assert await repo.add(second, IdempotencyClaim("d" * 64, "fp")) is None
    assert await repo.get(first.id) is not None
    assert await repo.get(second.id) is not None


async def test_listing_pages_newest_first_without_gaps_or_repeats(repo: PromptRepository) -> None:
    prompts = await added(repo, *(new_prompt(i) for i in range(23)))
    await repo.add(new_prompt(99, owner="apikey:other"))

    pages = await every_page(repo, PromptFilter(owner=OWNER), 5)

    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    assert [i for page in pages for i in page] == [p.id for p in reversed(prompts)]


async def test_a_page_that_ends_exactly_at_the_last_prompt_has_no_cursor(
    repo: PromptRepository,
) -> None:
    await added(repo, *(new_prompt(i) for i in range(4)))
    page = await repo.list(PromptFilter(owner=OWNER), 4, None)
    assert len(page.items) == 4
    assert page.next_cursor is None
    assert await every_page(repo, PromptFilter(owner="apikey:nobody"), 4) == [[]]


async def test_listing_follows_status_changes(repo: PromptRepository) -> None:
    prompts = await added(repo, *(new_prompt(i) for i in range(6)))
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


async def test_a_cursor_stays_valid_when_its_prompt_changes_status(repo: PromptRepository) -> None:
    prompts = await added(repo, *(new_prompt(i) for i in range(4)))
    criteria = PromptFilter(owner=OWNER, status=PromptStatus.CREATED)
    first = await repo.list(criteria, 2, None)
    assert [p.id for p in first.items] == [prompts[3].id, prompts[2].id]
    prompts[2].cancel(T0 + timedelta(seconds=1))
    await repo.save(prompts[2])

    rest = await repo.list(criteria, 2, first.next_cursor)

    assert [p.id for p in rest.items] == [prompts[1].id, prompts[0].id]


async def test_listing_combines_request_id_status_and_kind(repo: PromptRepository) -> None:
    a = new_prompt(1, request_id="batch-7", kind="mosaic_item")
    b = new_prompt(2, request_id="batch-7")
    c = new_prompt(3, request_id="batch-8", kind="mosaic_item")
    d = new_prompt(4, request_id="batch-7", kind="mosaic_item", owner="apikey:other")
    await added(repo, a, b, c, d)

    mine = await repo.list(PromptFilter(OWNER, kind="mosaic_item", request_id="batch-7"), 10, None)
    none = await repo.list(
        PromptFilter(OWNER, status=PromptStatus.FAULTED, request_id="batch-7"), 10, None
    )
    everyone = await repo.list(PromptFilter(None, request_id="batch-7"), 10, None)

    assert [p.id for p in mine.items] == [a.id]
    assert none.items == ()
    assert [p.id for p in everyone.items] == [d.id, b.id, a.id]


@pytest.mark.parametrize("cursor", ["!!!", "Zm9v", "MDAwMDAwMDAwMDAwMDp4"])
async def test_a_cursor_the_store_did_not_issue_is_refused(
    repo: PromptRepository, cursor: str
) -> None:
    with pytest.raises(InvalidCursor):
        await repo.list(PromptFilter(OWNER), 5, cursor)


async def test_the_oldest_in_a_status_come_first_up_to_the_limit(repo: PromptRepository) -> None:
    prompts = await added(repo, *(new_prompt(i) for i in range(5)))
    walk(prompts[1], PromptStatus.PREPARED, T0 + timedelta(seconds=1))
    await repo.save(prompts[1])

    oldest = await repo.oldest(PromptStatus.CREATED, 3)

    assert [p.id for p in oldest] == [prompts[0].id, prompts[2].id, prompts[3].id]
    assert [p.id for p in await repo.oldest(PromptStatus.PREPARED, 3)] == [prompts[1].id]
    assert await repo.oldest(PromptStatus.FAULTED, 3) == []


async def test_a_settled_prompt_is_kept_for_the_retention_time_then_forgotten(
    store: Store,
) -> None:
    repo = store.repo
    settled, active, answered = await added(repo, new_prompt(1), new_prompt(2), new_prompt(3))
    settled.cancel(T0 + timedelta(seconds=1))
    await repo.save(settled)
    walk(answered, PromptStatus.COMPLETED, T0 + timedelta(seconds=1))
    await repo.save(answered)

    store.clock.now += RETENTION_SECONDS - 1
    assert await repo.get(settled.id) is not None
    answered.mark_responded(T0 + timedelta(seconds=2))
    await repo.save(answered)  # a later settled step starts the retention time again

    store.clock.now += 2
    assert await repo.get(settled.id) is None
    assert await repo.get(answered.id) is not None
    assert await repo.get(active.id) is not None
    listed = await repo.list(PromptFilter(OWNER), 10, None)
    assert [p.id for p in listed.items] == [answered.id, active.id]
    assert await repo.oldest(PromptStatus.CANCELLED, 10) == []
