"""The use cases, driven through the real mediator and registry with in-memory ports."""

from __future__ import annotations

import pytest

from ai_gateway.application.commands.cancel_prompt import CancelPrompt
from ai_gateway.application.commands.create_item_prompt import CreateItemPrompt
from ai_gateway.application.commands.create_prompt import CreatePrompt
from ai_gateway.application.errors import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    NotFound,
    ValidationFailed,
)
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.prompt_changes import SAVE_ATTEMPTS
from ai_gateway.application.queries.check_readiness import CheckReadiness
from ai_gateway.application.queries.get_prompt import GetPrompt
from ai_gateway.application.queries.list_prompts import ListPrompts
from ai_gateway.bootstrap.messaging import pipeline_rules
from ai_gateway.bootstrap.registry import Ports, build_mediator
from ai_gateway.domain.errors import InvalidTransition
from ai_gateway.domain.item_review import ALL_REVIEWS, ItemReview, ReviewFlag
from ai_gateway.domain.prompt import ITEM_KIND, PromptStatus
from ai_gateway.integration.zip_archive import ZipArchiveReader, ZipLimits
from ai_gateway.settings import Settings
from tests.factories import StepClock, principal
from tests.fakes import (
    FixedProbe,
    InMemoryPromptRepository,
    MemoryObjectStore,
    RecordingQueue,
    ScriptedCallbacks,
    ScriptedProvider,
    ScriptedSource,
)

MOSAIC = principal("mosaic")
OTHER = principal("other")
ADMIN = principal("ops", admin=True)


RULES = pipeline_rules(Settings(_env_file=None))


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def repo(queue: RecordingQueue) -> InMemoryPromptRepository:
    return InMemoryPromptRepository(queue=queue)


def ports(repo: InMemoryPromptRepository, queue: RecordingQueue, **overrides: object) -> Ports:
    values: dict[str, object] = {
        "prompts": repo,
        "queue": queue,
        "store": MemoryObjectStore(),
        "source": ScriptedSource(),
        "archives": ZipArchiveReader(
            ZipLimits(max_entries=100, max_total_bytes=1024 * 1024, max_ratio=100)
        ),
        "provider": ScriptedProvider(),
        "callbacks": ScriptedCallbacks(),
        "probes": [FixedProbe("redis", up=True)],
        "clock": StepClock(),
    }
    values.update(overrides)
    return Ports(**values)  # type: ignore[arg-type]


@pytest.fixture
def mediator(repo: InMemoryPromptRepository, queue: RecordingQueue) -> Mediator:
    return build_mediator(ports(repo, queue), RULES)


def create(content: str = "Review this", **fields: object) -> CreatePrompt:
    return CreatePrompt(principal=fields.pop("principal", MOSAIC), content=content, **fields)  # type: ignore[arg-type]


async def test_creating_stores_a_prompt_owned_by_the_caller_and_queues_its_preparation(
    mediator: Mediator, repo: InMemoryPromptRepository, queue: RecordingQueue
) -> None:
    result = await mediator.send(create(request_id="r-1", metadata={"lang": "en"}))

    assert queue.steps() == [("prepare", result.id, 1)]
    stored = repo.prompts[result.id]
    assert (result.status, result.request_id, result.replayed) == (
        PromptStatus.CREATED,
        "r-1",
        False,
    )
    assert stored.owner == "apikey:mosaic"
    assert stored.metadata == {"lang": "en"}
    assert stored.version == 1


async def test_an_item_prompt_carries_the_item_fields_and_flags_as_context(
    mediator: Mediator, repo: InMemoryPromptRepository
) -> None:
    item = ItemReview(
        item_id="64b7f0c2a1b2c3d4e5f60718",
        item_bp="1.0 Domain",
        reviews=ALL_REVIEWS - {ReviewFlag.REVIEW_GRAMMAR},
    )
    result = await mediator.send(
        CreateItemPrompt(principal=MOSAIC, item=item, item_url="https://mosaic.example/data.zip")
    )

    stored = repo.prompts[result.id]
    assert stored.kind == ITEM_KIND
    assert stored.data_url == "https://mosaic.example/data.zip"
    assert stored.context["item_id"] == "64b7f0c2a1b2c3d4e5f60718"
    assert stored.context["prompt_context"] == "item"
    flags = stored.context["flags"]
    assert isinstance(flags, dict)
    assert flags["review_grammar"] is False
    assert flags["improve_stem"] is True


async def test_the_same_idempotency_key_and_body_replays_the_first_answer(
    mediator: Mediator, repo: InMemoryPromptRepository
) -> None:
    first = await mediator.send(create(idempotency_key="k-1"))
    again = await mediator.send(create(idempotency_key="k-1"))

    assert again.id == first.id
    assert again.created_at == first.created_at
    assert again.replayed is True
    assert len(repo.prompts) == 1


async def test_the_same_idempotency_key_with_another_body_is_refused(
    mediator: Mediator, repo: InMemoryPromptRepository
) -> None:
    await mediator.send(create("one", idempotency_key="k-1"))

    with pytest.raises(IdempotencyKeyReused):
        await mediator.send(create("two", idempotency_key="k-1"))
    assert len(repo.prompts) == 1


async def test_idempotency_keys_are_scoped_to_the_caller(
    mediator: Mediator, repo: InMemoryPromptRepository
) -> None:
    mine = await mediator.send(create(idempotency_key="k-1"))
    theirs = await mediator.send(create(idempotency_key="k-1", principal=OTHER))

    assert mine.id != theirs.id
    assert not theirs.replayed
    assert len(repo.prompts) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "line\nbreak"])
async def test_a_malformed_idempotency_key_is_a_validation_error(
    mediator: Mediator, key: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        await mediator.send(create(idempotency_key=key))
    assert raised.value.errors[0].field == "Idempotency-Key"


async def test_a_caller_reads_its_own_prompt_but_not_anothers(mediator: Mediator) -> None:
    created = await mediator.send(create())

    mine = await mediator.send(GetPrompt(principal=MOSAIC, prompt_id=created.id))
    assert mine.id == created.id
    with pytest.raises(NotFound):
        await mediator.send(GetPrompt(principal=OTHER, prompt_id=created.id))
    admin_view = await mediator.send(GetPrompt(principal=ADMIN, prompt_id=created.id))
    assert admin_view.owner == "apikey:mosaic"


async def test_reading_an_unknown_prompt_is_not_found(mediator: Mediator) -> None:
    with pytest.raises(NotFound):
        await mediator.send(GetPrompt(principal=MOSAIC, prompt_id="0" * 32))


async def test_listing_filters_pages_and_shows_only_the_callers_prompts(mediator: Mediator) -> None:
    ids = [(await mediator.send(create(f"p{i}", request_id="batch-1"))).id for i in range(5)]
    await mediator.send(create("not mine", principal=OTHER, request_id="batch-1"))
    await mediator.send(CancelPrompt(principal=MOSAIC, prompt_id=ids[0]))

    first = await mediator.send(ListPrompts(principal=MOSAIC, request_id="batch-1", limit=3))
    second = await mediator.send(
        ListPrompts(principal=MOSAIC, request_id="batch-1", limit=3, cursor=first.next_cursor)
    )
    cancelled = await mediator.send(ListPrompts(principal=MOSAIC, status=PromptStatus.CANCELLED))
    everyone = await mediator.send(ListPrompts(principal=ADMIN, request_id="batch-1"))

    assert [p.id for p in first.items + second.items] == ids[::-1]
    assert second.next_cursor is None
    assert [p.id for p in cancelled.items] == [ids[0]]
    assert len(everyone.items) == 6


@pytest.mark.parametrize("limit", [0, 101])
async def test_a_listing_limit_out_of_range_is_a_validation_error(
    mediator: Mediator, limit: int
) -> None:
    with pytest.raises(ValidationFailed):
        await mediator.send(ListPrompts(principal=MOSAIC, limit=limit))


async def test_a_foreign_cursor_is_a_validation_error(mediator: Mediator) -> None:
    with pytest.raises(ValidationFailed) as raised:
        await mediator.send(ListPrompts(principal=MOSAIC, cursor="bogus"))
    assert raised.value.errors[0].field == "cursor"


async def test_cancelling_moves_the_prompt_to_cancelled(
    mediator: Mediator, repo: InMemoryPromptRepository
) -> None:
    created = await mediator.send(create())

    cancelled = await mediator.send(CancelPrompt(principal=MOSAIC, prompt_id=created.id))

    assert cancelled.status is PromptStatus.CANCELLED
    assert repo.prompts[created.id].status is PromptStatus.CANCELLED
    assert repo.prompts[created.id].version == 2


async def test_cancelling_a_settled_prompt_is_an_invalid_transition(mediator: Mediator) -> None:
    created = await mediator.send(create())
    await mediator.send(CancelPrompt(principal=MOSAIC, prompt_id=created.id))

    with pytest.raises(InvalidTransition):
        await mediator.send(CancelPrompt(principal=MOSAIC, prompt_id=created.id))


async def test_cancelling_anothers_prompt_is_not_found(
    mediator: Mediator, repo: InMemoryPromptRepository
) -> None:
    created = await mediator.send(create())
    with pytest.raises(NotFound):
        await mediator.send(CancelPrompt(principal=OTHER, prompt_id=created.id))
    assert repo.prompts[created.id].status is PromptStatus.CREATED


async def test_a_cancel_that_loses_a_race_is_retried_on_fresh_state(
    mediator: Mediator, repo: InMemoryPromptRepository
) -> None:
    created = await mediator.send(create())
    repo.conflicts_to_raise = 2

    cancelled = await mediator.send(CancelPrompt(principal=MOSAIC, prompt_id=created.id))

    assert cancelled.status is PromptStatus.CANCELLED


async def test_a_cancel_that_keeps_losing_gives_up_with_a_conflict(
    mediator: Mediator, repo: InMemoryPromptRepository
) -> None:
    created = await mediator.send(create())
    repo.conflicts_to_raise = SAVE_ATTEMPTS

    with pytest.raises(ConcurrencyConflict):
        await mediator.send(CancelPrompt(principal=MOSAIC, prompt_id=created.id))
    assert repo.prompts[created.id].status is PromptStatus.CREATED


async def test_readiness_reports_each_probe() -> None:
    probes = [FixedProbe("redis", up=True), FixedProbe("s3", up=False)]
    mediator = build_mediator(
        ports(InMemoryPromptRepository(), RecordingQueue(), probes=probes), RULES
    )
    readiness = await mediator.send(CheckReadiness())
    assert readiness.checks == {"redis": True, "s3": False}
    assert readiness.ready is False
