"""The in-process worker of a real `ai-gateway serve`, on its embedded default, under a burst of
creations: it keeps up with them instead of being starved by the API beside it (ADR 0031).

Only ratios of one run are compared, so a slow machine slows both sides alike: before the API was
held to its share, this burst left the worker completing about one prompt in a hundred created."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest

from tests.e2e.serve_process import Gateway
from tests.waiting import SETTLE_SECONDS, wait_until

pytestmark = pytest.mark.e2e

BURST_SECONDS = 3.0
CLIENTS = 32
"""Clients creating at once: four times the creations `serve` handles at once by default."""


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    gw = Gateway(tmp_path, env={"LOG_LEVEL": "WARNING", "ACCESS_LOG": "false"})
    yield gw
    if gw.process is not None:
        gw.stop(signal.SIGKILL)


async def burst(gateway: Gateway, seconds: float) -> int:
    """Creations from ``CLIENTS`` clients, each sending the next once the last is answered, for
    ``seconds``; the number created. aiohttp, whose requests cost the test far less than httpx's:
    the load must outrun what one process can both create and complete."""
    created = 0
    deadline = time.monotonic() + seconds
    headers = {"X-API-Key": gateway.api_key(), "Content-Type": "application/json"}
    url = f"{gateway.base_url}/api/prompts"
    async with aiohttp.ClientSession(headers=headers) as http:

        async def client() -> None:
            nonlocal created
            while time.monotonic() < deadline:
                async with http.post(url, data=b'{"content": "Say hello."}') as response:
                    assert response.status == 201, await response.text()
                created += 1

        await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return created


def completed(client: httpx.Client) -> int:
    counts: dict[str, int] = client.get("/api/admin/overview").json()["prompts_last_hour"]
    return counts.get("completed", 0)


def test_the_in_process_worker_completes_prompts_while_the_api_is_saturated(
    gateway: Gateway,
) -> None:
    gateway.start()

    created = asyncio.run(burst(gateway, BURST_SECONDS))
    with gateway.client() as client:
        done_during_burst = completed(client)
        wait_until(lambda: completed(client) == created, SETTLE_SECONDS, "every prompt completed")

    assert created >= CLIENTS, "the burst created too little to load the process"
    assert done_during_burst >= 0.5 * created, (done_during_burst, created)
