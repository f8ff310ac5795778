"""Memory soak: the RSS of each process while prompts are created at half the maximum rate.

One API process (``ai-gateway serve``) and one ``ai-gateway worker`` against a real Redis, the
echo provider and the local object store. The run first measures the maximum creation rate (a
burst of ``--probe`` prompts, 64 at a time), then creates prompts at half of it for ``--minutes``
(20 by default) with the worker completing them, sampling the resident set size of every process
of the API and the worker (the worker's supervisor and its worker processes) each ``--every``
seconds. Growth is counted from the first sample after ``--warm-up`` minutes to the last.

One worker process completes fewer prompts a second than half of what one API process creates
(docs/performance.md, the pipeline), so the backlog grows in Redis for the whole run; its bound
(``BACKLOG_MAX_PROMPTS``) is lifted, else creations past it would be refused and the run would
measure refusals, not the processes' memory under load.

The creations are sent at the target rate with at most ``--in-flight`` under way; every one that
is not answered 201 is counted. A run with failures, or that fell below 95 % of its rate because
the slots were full, says so and exits non-zero: its memory figures do not show the load asked for.

    python -m bench.soak [--minutes 20] [--warm-up 2] [--every 10] [--in-flight 64]

Not a CI test: it runs for as long as it is told to.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from tests.servers import RedisServer, free_port
from tests.waiting import wait_until

from bench.pipeline_processes import API_KEY, answers, gateway_client, start, stop

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


@dataclass
class Load:
    """What the creation load did: sent, answered 201, failed by cause, and when."""

    rate: float
    sent: int = 0
    created: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    waited_for_a_slot: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, object]:
        achieved = self.sent / self.seconds if self.seconds else 0.0
        return {"target_rate": self.rate, "achieved_rate": achieved, "sent": self.sent,
                "created": self.created, "failed": dict(self.failed),
                "waited_for_a_slot": self.waited_for_a_slot}  # fmt: skip

    def holds(self) -> bool:
        """The soak measured what it claims: every prompt created, at (nearly) the target rate."""
        return not self.failed and self.sent >= 0.95 * self.rate * self.seconds


async def _create(client: aiohttp.ClientSession, n: int, load: Load) -> None:
    try:
        async with client.post("/api/prompts", json={"content": f"Soak prompt {n}."}) as response:
            await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        load.failed[type(exc).__name__] += 1
    else:
        if response.status == 201:
            load.created += 1
        else:
            load.failed[str(response.status)] += 1


async def max_rate(base: str, count: int, in_flight: int) -> float:
    """Creations per second with ``in_flight`` always under way, over ``count`` creations."""
    load = Load(rate=0.0)
    slots = asyncio.Semaphore(in_flight)
    async with gateway_client(base, in_flight) as client:

        async def one(n: int) -> None:
            async with slots:
                await _create(client, n, load)

        began = time.monotonic()
        await asyncio.gather(*(one(n) for n in range(count)))
        elapsed = time.monotonic() - began
    if load.failed:
        raise RuntimeError(f"the rate probe saw failures: {dict(load.failed)}")
    return count / elapsed


async def create_at(
    base: str, rate: float, seconds: float, in_flight: int, sample: Callable[[], None]
) -> Load:
    """Sends a creation every 1/``rate`` s for ``seconds``, never more than ``in_flight`` at once:
    a send due while every slot is taken waits for one (and the run falls behind its rate, which
    the result shows). Any answer but 201, or none, is a failure counted by its status or error."""
    load = Load(rate)
    slots = asyncio.Semaphore(in_flight)
    async with gateway_client(base, in_flight) as client:

        async def create(n: int) -> None:
            try:
                await _create(client, n, load)
            finally:
                slots.release()

        began = time.monotonic()
        sending: set[asyncio.Task[None]] = set()
        while (due := load.sent / rate) < seconds:
            sample()
            await asyncio.sleep(max(0.0, began + due - time.monotonic()))
            if slots.locked():
                load.waited_for_a_slot += 1
            await slots.acquire()
            task = asyncio.create_task(create(load.sent))
            sending.add(task)
            task.add_done_callback(sending.discard)
            load.sent += 1
        load.seconds = time.monotonic() - began
        await asyncio.gather(*sending)
    return load


def run(
    minutes: float, warm_up: float, every: float, probe: int, in_flight: int
) -> dict[str, object]:
    samples: dict[str, list[tuple[float, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        port = free_port()
        env = {**os.environ, "REDIS_URL": redis.url, "MOSAIC_API_KEYS": f"bench:{API_KEY}",
               "SERVE_WORKER": "false", "LOG_LEVEL": "WARNING", "ACCESS_LOG": "false",
               "DATA_DIR": str(Path(tmp) / "data"), "WORKER_CONCURRENCY": "32",
               "BACKLOG_MAX_PROMPTS": "0",
               "WORKER_METRICS_PORT": "0"}  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        api = start(["serve", "--port", str(port)], env)
        worker = None
        try:
            wait_until(lambda: answers(base), 30, "api")
            probed = asyncio.run(max_rate(base, probe, in_flight))
            worker = start(["worker", "--processes", "1"], env)
            rate = probed / 2
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

            load = asyncio.run(create_at(base, rate, minutes * 60, in_flight, sample))
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
    return {"max_rate": probed, "minutes": minutes, "in_flight": in_flight,
            "load": load.summary(), "holds": load.holds(), "growth": growth,
            "samples": samples}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--warm-up", type=float, default=2)
    parser.add_argument("--every", type=float, default=10)
    parser.add_argument("--probe", type=int, default=2000, help="prompts of the rate probe")
    parser.add_argument("--in-flight", type=int, default=64, help="creations under way at most")
    args = parser.parse_args()
    result = run(args.minutes, args.warm_up, args.every, args.probe, args.in_flight)
    load = result["load"]
    assert isinstance(load, dict)
    print(f"max {result['max_rate']:.0f} creations/s; soaked at {load['achieved_rate']:.1f}/s "
          f"(target {load['target_rate']:.1f}/s), {load['sent']} sent, {load['created']} created, "
          f"failed {load['failed'] or 'none'}, {load['waited_for_a_slot']} waited for one of "
          f"{args.in_flight} slots, {args.minutes} min")  # fmt: skip
    growth = result["growth"]
    assert isinstance(growth, dict)
    for name, g in growth.items():
        print(f"  {name:10s} {g['first_kib'] / 1024:7.1f} MiB -> {g['last_kib'] / 1024:7.1f} MiB"
              f"  {g['growth_pct']:+.1f} %")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"soak-{stamp}.json").write_text(json.dumps(result, indent=2))
    if not result["holds"]:
        sys.exit(
            "the load fell short (failures, or under 95 % of the target rate): growth unproven"
        )


if __name__ == "__main__":
    main()
