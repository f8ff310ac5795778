"""One worker process draining a backlog, for several versions of the gateway's code side by side.

Each variant is a ``src`` folder (``PYTHONPATH`` of the worker process: an earlier checkout's
``src`` is the reference). One Redis and one API process serve every round; in each round, every
variant in turn gets a fresh backlog of ``--prompts`` prompts (echo provider, no data package),
which one worker process of that variant drains alone. Reported per variant: the worker's CPU per
prompt (from /proc, start-up left out) and completed/s (from the prompts' own timestamps), as the
minimum and median of the rounds: on a shared machine, CPU per prompt moves less than the rate.

    python -m bench.worker_variants --prompts 2000 --rounds 3 before=../old/src after=src
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from redis import Redis
from tests.servers import RedisServer, free_port
from tests.waiting import wait_until

from bench.pipeline_capacity import cpu_seconds, create, span_seconds, started, wait_drained
from bench.pipeline_processes import answers, pipeline_env, start, stop


def drain(base: str, env: dict[str, str], prompts: int) -> tuple[float, float]:
    """A fresh backlog drained by one worker process: its CPU ms per prompt, completed/s."""
    ids = asyncio.run(create(base, prompts, 64, {}))
    worker = start(["worker", "--processes", "1"], env)
    try:
        wait_until(lambda: started(base), 60, "the worker")
        cpu_before = cpu_seconds(worker.pid)
        done = wait_drained(base, ids, "completed")
        cpu_ms = (cpu_seconds(worker.pid) - cpu_before) * 1000 / prompts
    finally:
        stop(worker)
    return cpu_ms, prompts / span_seconds(done, "preparing", "completed")


def compare(
    variants: dict[str, str], prompts: int, rounds: int
) -> dict[str, list[tuple[float, float]]]:
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = pipeline_env(redis.url, str(Path(tmp) / "data"))
        api = start(["serve", "--port", str(port)], env)
        try:
            wait_until(lambda: answers(base), 30, "the API")
            for round_number in range(rounds):
                for name, src in variants.items():
                    cpu_ms, rate = drain(base, {**env, "PYTHONPATH": src}, prompts)
                    runs[name].append((cpu_ms, rate))
                    print(f"round {round_number + 1} {name}: {cpu_ms:.2f} ms CPU per prompt, "
                          f"{rate:.0f} completed/s", flush=True)  # fmt: skip
                    Redis.from_url(redis.url).flushdb()
        finally:
            stop(api)
            redis.stop()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("variants", nargs="+", help="name=path of a src folder")
    options = parser.parse_args()
    variants = dict(v.split("=", 1) for v in options.variants)
    for name, results in compare(variants, options.prompts, options.rounds).items():
        cpu = [c for c, _ in results]
        rate = [r for _, r in results]
        print(f"{name}: CPU per prompt min {min(cpu):.2f} ms, median "
              f"{statistics.median(cpu):.2f} ms; completed/s max {max(rate):.0f}, median "
              f"{statistics.median(rate):.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
