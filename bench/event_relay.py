"""Event relay throughput: lifecycle events per second from the outbox to a sink answering at once.

A real Redis; the outbox is filled through the prompt store itself (each prompt walked through
five steps, one write each, as the pipeline writes them); then one ``EventRelay`` in this process
sends them to a bare ASGI sink in its own uvicorn process. The run times the drain, and checks
from the sink's own log that every event arrived once and each prompt's in order.

    python -m bench.event_relay [--prompts 4000] [--mode structured]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis
from tests.servers import RedisServer

from ai_gateway.domain.prompt import Prompt
from ai_gateway.domain.values import PromptResponse
from ai_gateway.integration.event_relay import EventRelay
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from bench.http_load import uvicorn_server

RESULTS = Path(__file__).parent / "results"
PREFIX = "bench"
STEPS = ("received", "preparing", "data.processed", "submitted", "response.received")


async def fill(redis: Redis, prompts: int) -> None:
    repo = RedisPromptRepository(redis, prefix=PREFIX, publish_events=True, outbox_bound=10**7)

    async def walk() -> None:
        now = datetime.now(UTC)
        prompt = Prompt.create(owner="apikey:bench", content="x", at=now)
        await repo.add(prompt)
        for step in (prompt.start_preparing, prompt.mark_prepared, prompt.mark_submitted):
            step(now)
            await repo.save(prompt)
        prompt.record_response(PromptResponse.of("answer", {}, now))
        await repo.save(prompt)

    # Prompts walked side by side interleave their events in the outbox, as busy workers do.
    for start in range(0, prompts, 64):
        await asyncio.gather(*(walk() for _ in range(min(64, prompts - start))))


async def relay_all(redis: Redis, sink: str, mode: str, expected: int, concurrency: int) -> float:
    outbox = RedisKeys(PREFIX).outbox
    assert await redis.xlen(outbox) == expected
    stop = asyncio.Event()
    relay = EventRelay(redis, prefix=PREFIX, sink=sink, source="/bench",
                       type_prefix="ai-gateway", mode=mode,  # type: ignore[arg-type]
                       concurrency=concurrency)  # fmt: skip
    started = time.perf_counter()
    task = asyncio.create_task(relay.run(stop))
    while await redis.xlen(outbox):
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    return elapsed


def check_order(log: Path, prompts: int) -> None:
    by_prompt: dict[str, list[str]] = {}
    for line in log.read_text().splitlines():
        subject, event_type = line.split(" ")
        by_prompt.setdefault(subject, []).append(event_type)
    expected = [f"ai-gateway.prompt.{step}.v1" for step in STEPS]
    assert len(by_prompt) == prompts, f"{len(by_prompt)} prompts reached the sink of {prompts}"
    wrong = [p for p, types in by_prompt.items() if types != expected]
    assert not wrong, f"{len(wrong)} prompts out of order or repeated, e.g. {by_prompt[wrong[0]]}"


def run(prompts: int, mode: str, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = RedisServer(Path(tmp) / "redis")
        redis_server.start()
        log = Path(tmp) / "sink.log"
        try:
            with uvicorn_server("bench.event_sink:app", {"SINK_LOG": str(log)}) as sink:

                async def measure() -> float:
                    redis = Redis.from_url(redis_server.url, decode_responses=True)
                    try:
                        await fill(redis, prompts)
                        events = prompts * len(STEPS)
                        return await relay_all(redis, sink + "/events", mode, events, concurrency)
                    finally:
                        await redis.aclose()

                elapsed = asyncio.run(measure())
        finally:
            redis_server.stop()
        check_order(log, prompts)
    events = prompts * len(STEPS)
    return {"events": events, "seconds": elapsed, "events_per_s": events / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=4000)
    parser.add_argument("--mode", choices=["structured", "binary", "batched"], default="structured")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="requests in flight; 1: one at a time"
    )
    args = parser.parse_args()
    result = run(args.prompts, args.mode, args.concurrency)
    rate = f"{result['events_per_s']:,.0f} events/s"
    print(f"{result['events']:.0f} events in {result['seconds']:.2f} s: {rate} ({args.mode}), "
          "each prompt's in order")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {
        "when": stamp,
        "mode": args.mode,
        "concurrency": args.concurrency,
        "cores": os.cpu_count(),
        **result,
    }
    (RESULTS / f"event_relay-{stamp}.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
