"""The listing part of the PromptRepository contract: pages, cursors, filters and the oldest
in a status, for the in-memory fake and the Redis adapter alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ai_gateway.application.ports.prompts import InvalidCursor, PromptFilter, PromptRepository
from ai_gateway.domain.prompt import PromptStatus
from tests.contract.conftest import OWNER, added, new_prompt
from tests.factories import T0, walk


async def every_page(repo: PromptRepository, criteria: PromptFilter, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = await repo.list(criteria, limit, cursor)
        pages.append([p.id for p in page.items])
        cursor = page.next_cursor
        if cursor is None:
            return pages


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
