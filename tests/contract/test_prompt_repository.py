"""The PromptRepository contract, run against the in-memory fake and the Redis adapter alike.

Handler tests trust the fake; this suite is what earns that trust. Whatever the Redis store does
that callers may rely on is asserted here for both, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta

import pytest

from ai_gateway.application.errors import ConcurrencyConflict
from ai_gateway.application.ports.prompts import IdempotencyClaim, PromptFilter, PromptRepository
from ai_gateway.domain.prompt import PromptStatus
from ai_gateway.domain.values import Delivery, DeliveryState, Fault, ObjectRef, PromptResponse
from tests.contract.conftest import OWNER, RETENTION_SECONDS, Store, added, new_prompt
from tests.factories import T0, walk


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

    results = [a.earlier for a in await asyncio.gather(*(repo.add(p, claim) for p in prompts))]

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
    assert (await repo.add(first, IdempotencyClaim("c" * 64, "fp"))).earlier is None
    assert (await repo.add(second, IdempotencyClaim("d" * 64, "fp"))).earlier is None
    assert await repo.get(first.id) is not None
    assert await repo.get(second.id) is not None


async def test_a_settled_prompt_is_kept_for_the_retention_time_then_forgotten(store: Store) -> None:
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


async def test_a_prompt_owing_a_callback_is_found_once_its_delivery_is_due(store: Store) -> None:
    repo, cb = store.repo, "https://mosaic.example/cb"
    owing, planned, silent, delivered = await added(
        repo, new_prompt(1, callback_url=cb), new_prompt(2, callback_url=cb), new_prompt(3),
        new_prompt(4, callback_url=cb),
    )  # fmt: skip
    now = datetime.fromtimestamp(store.clock.now, UTC)
    for prompt in (owing, planned, silent, delivered):
        walk(prompt, PromptStatus.COMPLETED, T0 + timedelta(seconds=1))
    first = Delivery(f"msg_{planned.id}")
    planned.record_delivery(first.attempted("503", now, state=DeliveryState.PENDING,
                                            next_at=now + timedelta(seconds=60)))  # fmt: skip
    delivered.record_delivery(first.attempted("200", now, state=DeliveryState.DELIVERED))
    for prompt in (owing, planned, silent, delivered):
        await repo.save(prompt)

    assert [p.id for p in await repo.deliveries_due(now, 10)] == [owing.id]
    later = now + timedelta(seconds=61)
    assert [p.id for p in await repo.deliveries_due(later, 10)] == [owing.id, planned.id]
    assert [p.id for p in await repo.deliveries_due(later, 1)] == [owing.id]

    owing.record_delivery(
        owing.current_delivery.attempted("200", now, state=DeliveryState.DELIVERED)
    )
    await repo.save(owing)
    assert [p.id for p in await repo.deliveries_due(later, 10)] == [planned.id]
    store.clock.now += RETENTION_SECONDS + 1  # a prompt forgotten owes nothing
    assert await repo.deliveries_due(later + timedelta(seconds=RETENTION_SECONDS), 10) == []
