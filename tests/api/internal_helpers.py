"""Putting prompts where the worker would have left them, for API tests without a worker."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from ai_gateway.domain.prompt import PromptStatus
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from tests.api.conftest import MOSAIC_KEY
from tests.factories import walk


async def submitted_prompt(
    client: httpx.AsyncClient, redis_client: Redis, prefix: str, **body: object
) -> str:
    """A prompt the worker handed to the asynchronous GenAI service (put there directly)."""
    created = await client.post(
        "/api/prompts", json={"content": "x", **body}, headers={"X-API-Key": MOSAIC_KEY}
    )
    prompt_id: str = created.json()["id"]
    repo = RedisPromptRepository(redis_client, prefix=prefix)
    prompt = await repo.get(prompt_id)
    assert prompt is not None
    await repo.save(walk(prompt, PromptStatus.SUBMITTED, prompt.created_at))
    return prompt_id
