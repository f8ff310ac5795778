"""End-to-end throughput of the pipeline: prompts per second from creation to COMPLETED.

Concurrent: an API process and 1 (then 2) worker processes against a real Redis, the echo provider
and the local object store, all at once on the machine's cores; every prompt is created through the
API, then the run waits until all are COMPLETED. The time each step took comes from the prompts'
own step timestamps. Capacity (``pipeline_capacity``): the API creating alone, then one worker
process draining alone, with no data package, and with a data package and a callback.

    python -m bench.pipeline_throughput [--prompts 2000] [--concurrency 64] [--runs capacity,...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
from redis import Redis
from tests.servers import RedisServer, free_port
from tests.waiting import wait_until

from bench.pipeline_capacity import Capacity, capacity, span_seconds, wait_drained
from bench.pipeline_processes import (
    API_KEY,
    answers,
    gateway_client,
    pipeline_env,
    start,
    stop,
)

RESULTS = Path(__file__).parent / "results"
STEPS = (
    ("created", "preparing"),
    ("preparing", "prepared"),
    ("prepared", "submitted"),
    ("submitted", "completed"),
)


async def create_all(base: str, count: int, concurrency: int) -> list[str]:
    ids: list[str] = []
    limit = asyncio.Semaphore(concurrency)
    async with gateway_client(base, concurrency) as client:

        async def one(i: int) -> None:
            async with (
                limit,
                client.post("/api/prompts", json={"content": f"Prompt number {i}."}) as response,
            ):
                ids.append((await response.json())["id"])

        await asyncio.gather(*(one(i) for i in range(count)))
    return ids


async def one_at_a_time(base: str, count: int) -> list[dict[str, object]]:
    """Each prompt created only once the one before is COMPLETED: step times without queueing."""
    done = []
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": API_KEY}, timeout=30
    ) as client:
        for i in range(count):
            prompt_id = (
                await client.post("/api/prompts", json={"content": f"Prompt {i}."})
            ).json()["id"]
            while (prompt := (await client.get(f"/api/prompts/{prompt_id}")).json())[
                "status"
            ] != "completed":
                await asyncio.sleep(0.002)
            done.append(prompt)
    return done


def step_times(prompts: list[dict[str, object]]) -> dict[str, dict[str, float]]:
    times: dict[str, dict[str, float]] = {}
    for start_step, end_step in (*STEPS, ("created", "completed")):
        spans = []
        for prompt in prompts:
            stamps = prompt["timestamps"]
            assert isinstance(stamps, dict)
            begin, end = (
                datetime.fromisoformat(stamps[start_step]),
                datetime.fromisoformat(stamps[end_step]),
            )
            spans.append((end - begin).total_seconds() * 1000)
        spans.sort()
        times[f"{start_step} → {end_step}"] = {
            "p50_ms": statistics.median(spans), "p99_ms": spans[int(len(spans) * 0.99) - 1]
        }  # fmt: skip
    return times


def reading_workers(redis_url: str) -> int:
    """The workers waiting on the job stream (each, once started, blocks in XREADGROUP)."""
    clients = Redis.from_url(redis_url).client_list()
    return sum(1 for client in clients if client["cmd"] == "xreadgroup")


def run(workers: int, prompts: int, concurrency: int, unloaded: bool = False) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        port = free_port()
        env = pipeline_env(redis.url, str(Path(tmp) / "data"))
        base = f"http://127.0.0.1:{port}"
        processes = [start(["serve", "--port", str(port)], env)]
        try:
            wait_until(lambda: answers(base), 30, "api")
            processes += [start(["worker", "--processes", "1"], env) for _ in range(workers)]
            wait_until(lambda: reading_workers(redis.url) >= workers, 60, "the workers")
            began = time.monotonic()
            if unloaded:
                done = asyncio.run(one_at_a_time(base, prompts))
                created = finished = time.monotonic()
            else:
                ids = asyncio.run(create_all(base, prompts, concurrency))
                created = time.monotonic()
                done = wait_drained(base, ids, "completed")
                # From the prompts' own timestamps: not the time the run took to notice.
                finished = began + span_seconds(done, "created", "completed")
        finally:
            for process in processes:
                stop(process)
            redis.stop()
    return {
        "workers": workers,
        "unloaded": unloaded,
        "prompts": prompts,
        "created_per_s": prompts / (created - began),
        "completed_per_s": prompts / (finished - began),
        "steps": step_times(done),
    }


RUNS = ("capacity", "concurrent", "data", "two-workers", "unloaded")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--runs", default=",".join(RUNS), help=f"which runs, comma-separated ({', '.join(RUNS)})"
    )
    args = parser.parse_args()
    runs = set(args.runs.split(","))
    alone: list[Capacity] = []
    if "capacity" in runs:
        alone.append(capacity(args.prompts, args.concurrency, data_and_callback=False))
    results = [run(1, args.prompts, args.concurrency)] if "concurrent" in runs else []
    if "data" in runs:
        alone.append(capacity(args.prompts, args.concurrency, data_and_callback=True))
    if "two-workers" in runs:
        results.append(run(2, args.prompts, args.concurrency))
    if "unloaded" in runs:
        results.append(run(1, 200, 1, unloaded=True))
    for c in alone:
        print(c.report())
    for r in results:
        if r["unloaded"]:
            print(f"\none prompt at a time, {r['prompts']} prompts, 1 worker process:")
        else:
            created, completed = float(r["created_per_s"]), float(r["completed_per_s"])  # type: ignore[arg-type]
            print(
                f"\nconcurrent, on the same cores, {r['workers']} worker process(es): "
                f"{r['prompts']} prompts, {created:.0f} created/s, {completed:.0f} completed/s, "
                f"ratio {completed / created:.2f}"
            )
        steps = r["steps"]
        assert isinstance(steps, dict)
        for step, t in steps.items():
            print(f"  {step:26s} p50 {t['p50_ms']:8.1f} ms   p99 {t['p99_ms']:8.1f} ms")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {"cores": os.cpu_count(), "capacity": [asdict(c) for c in alone], "runs": results}
    (RESULTS / f"pipeline-{stamp}.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
