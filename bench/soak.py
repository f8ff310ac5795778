"""Memory soak: the RSS of each process while prompts are created at half the maximum rate.

One API process (``ai-gateway serve``) and one ``ai-gateway worker`` against a real Redis, the
echo provider and the local object store. The run first measures the maximum creation rate (a
burst of ``--probe`` prompts, 64 at a time), then creates prompts at half of it for ``--minutes``
(20 by default) with the worker completing them, sampling the resident set size of every process
of the API and the worker (the worker's supervisor and its worker processes) each ``--every``
seconds. Growth is counted from the first sample after ``--warm-up`` minutes to the last.

    python -m bench.soak [--minutes 20] [--warm-up 2] [--every 10]

Not a CI test: it runs for as long as it is told to.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from tests.servers import RedisServer, free_port
from tests.waiting import wait_until

from bench.pipeline_throughput import API_KEY, answers, create_all, start, stop

RESULTS = Path(__file__).parent / "results"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def family(pid: int) -> list[int]:
    """The process and its descendants (a worker supervisor's worker processes)."""
    found = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found += family(int(child))
    return found


async def create_at(base: str, rate: float, seconds: float, sample: Callable[[], None]) -> int:
    created = 0
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": API_KEY}, timeout=30
    ) as client:
        began = time.monotonic()
        pending: set[asyncio.Task[httpx.Response]] = set()
        while (elapsed := time.monotonic() - began) < seconds:
            due = int(elapsed * rate) - created
            for _ in range(due):
                body = {"content": f"Soak prompt {created}."}
                task = asyncio.create_task(client.post("/api/prompts", json=body))
                pending.add(task)
                task.add_done_callback(pending.discard)
                created += 1
            sample()
            await asyncio.sleep(0.01)
        await asyncio.gather(*pending)
    return created


def run(minutes: float, warm_up: float, every: float, probe: int) -> dict[str, object]:
    samples: dict[str, list[tuple[float, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        port = free_port()
        env = {**os.environ, "REDIS_URL": redis.url, "MOSAIC_API_KEYS": f"bench:{API_KEY}",
               "SERVE_WORKER": "false", "LOG_LEVEL": "WARNING", "ACCESS_LOG": "false",
               "DATA_DIR": str(Path(tmp) / "data"), "WORKER_CONCURRENCY": "32",
               "WORKER_METRICS_PORT": "0"}  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        api = start(["serve", "--port", str(port)], env)
        worker = None
        try:
            wait_until(lambda: answers(base), 30, "api")
            began = time.monotonic()
            asyncio.run(create_all(base, probe, 64))
            max_rate = probe / (time.monotonic() - began)
            worker = start(["worker", "--processes", "1"], env)
            rate = max_rate / 2
            started = time.monotonic()
            next_sample = 0.0

            def sample() -> None:
                nonlocal next_sample
                now = time.monotonic() - started
                if now < next_sample:
                    return
                next_sample = now + every
                assert worker is not None
                named = {"api": [api.pid], "worker": family(worker.pid)}
                for name, pids in named.items():
                    for i, pid in enumerate(pids):
                        samples.setdefault(f"{name}[{i}]", []).append((now, rss_kib(pid)))

            created = asyncio.run(create_at(base, rate, minutes * 60, sample))
        finally:
            for process in (api, worker):
                if process is not None:
                    stop(process)
            redis.stop()
    growth = {}
    for name, series in samples.items():
        after = [kib for at, kib in series if at >= warm_up * 60]
        if len(after) >= 2:
            growth[name] = {"first_kib": after[0], "last_kib": after[-1],
                            "growth_pct": 100 * (after[-1] - after[0]) / after[0]}  # fmt: skip
    return {"max_rate": max_rate, "rate": rate, "created": created, "minutes": minutes,
            "growth": growth, "samples": samples}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--warm-up", type=float, default=2)
    parser.add_argument("--every", type=float, default=10)
    parser.add_argument("--probe", type=int, default=2000, help="prompts of the rate probe")
    args = parser.parse_args()
    result = run(args.minutes, args.warm_up, args.every, args.probe)
    print(f"max {result['max_rate']:.0f} creations/s; soaked at {result['rate']:.0f}/s, "
          f"{result['created']} prompts in {args.minutes} min")  # fmt: skip
    growth = result["growth"]
    assert isinstance(growth, dict)
    for name, g in growth.items():
        print(f"  {name:10s} {g['first_kib'] / 1024:7.1f} MiB -> {g['last_kib'] / 1024:7.1f} MiB"
              f"  {g['growth_pct']:+.1f} %")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"soak-{stamp}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
