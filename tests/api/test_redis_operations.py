"""How many Redis commands a prompt costs, from creation to its answer: the figure ADR 0026 sizes
one primary by. Counted by the server itself (INFO commandstats) on a Redis of the test's own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from ai_gateway.bootstrap import create_app
from ai_gateway.integration.redis_keys import RedisKeys
from tests.api.conftest import MOSAIC_KEY, client_for, make_settings
from tests.servers import RedisServer

pytestmark = pytest.mark.integration

PROMPTS = 50
MOST_SCRIPTS = 12  # the writes: each one script, one round trip
# Every command Redis runs, a script's own included; of them, the answer's tokens added to its
# owner's budget of the day (ADR 0019) cost two: Redis's clock and the count. The background
# loops' polls (job reads, delayed-job promotion, the relay) grow with the run's wall time, so a
# busy machine adds a few commands per prompt: about 82 idle, up to 88 seen under load.
MOST_EXECUTED = 90


async def test_a_prompt_costs_a_few_dozen_redis_commands(
    own_redis: RedisServer, key_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(
        own_redis.url, key_prefix, serve_worker=True, redis_timeout_seconds=5.0,
        data_dir=tmp_path / "data",
    )  # fmt: skip
    completed = RedisKeys(key_prefix).index(status="completed")
    async with Redis.from_url(own_redis.url, decode_responses=True) as redis:
        async for client in client_for(create_app(settings)):
            client.headers["X-API-Key"] = MOSAIC_KEY
            await redis.config_resetstat()
            for i in range(PROMPTS):
                assert (await client.post("/api/prompts", json={"content": f"p{i}"})).is_success
            async with asyncio.timeout(30):
                while await redis.zcard(completed) < PROMPTS:
                    await asyncio.sleep(0.05)
            stats = await redis.info("commandstats")

    calls = {
        name.removeprefix("cmdstat_"): int(value["calls"])
        for name, value in stats.items()
        if name not in {"cmdstat_zcard", "cmdstat_config|resetstat", "cmdstat_info"}
    }
    executed, scripts = sum(calls.values()) / PROMPTS, calls["evalsha"] / PROMPTS
    print(f"per prompt: {executed:.1f} commands executed, {scripts:.1f} of them scripts")
    assert 1 < scripts <= MOST_SCRIPTS, calls
    assert scripts < executed <= MOST_EXECUTED, calls
