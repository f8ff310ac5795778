"""Both prompt stores behind one fixture, so that every contract test runs against each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.domain.prompt import Prompt
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from tests.factories import T0, ManualClock
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
