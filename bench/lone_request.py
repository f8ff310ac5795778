"""A lone request: ``POST /api/prompts`` at one connection, for several versions of the gateway's
code side by side in one run, with FastAPI hello as the reference.

Each variant is a ``src`` folder (the ``PYTHONPATH`` of its ``ai-gateway serve`` process, as
``bench.http_load`` runs it, API-key authentication, one Redis for all). Every server runs for the
whole run; each round loads hello and then every variant in turn with wrk at one connection, so
that the drift of a shared machine touches them all alike. Reported per variant: the median over
the rounds of the p50 over hello's, and of the server's CPU time per request (from ``/proc``).

At one connection nothing is shared between requests and every request runs on cold caches:
what a tight loop puts at a microsecond can cost ten here, which is why a change to this figure
is measured here and not with ``timeit``.

    python -m bench.lone_request --rounds 6 before=../old/src after=src
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

from tests.servers import RedisServer

from bench.http_load import (
    API_KEY,
    BODY,
    SERVERS,
    cpu_seconds,
    gateway_server,
    headers_lua,
    uvicorn_server,
    wrk,
)

HELLO = "fastapi hello"


def compare(
    variants: dict[str, str], rounds: int, duration: int
) -> dict[str, list[tuple[float, float]]]:
    """Each variant's (p50 ms, CPU µs per request) per round; hello's CPU is left at 0."""
    runs: dict[str, list[tuple[float, float]]] = {HELLO: [], **{name: [] for name in variants}}
    create = headers_lua("POST", BODY)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        stack.callback(redis.stop)
        hello = stack.enter_context(uvicorn_server("bench.hello_app:lean_app", {})) + "/hello"
        gateways = {}
        for name, src in variants.items():
            env = {"REDIS_URL": redis.url, "MOSAIC_API_KEYS": f"bench:{API_KEY}",
                   "LOG_LEVEL": "WARNING", "REDIS_KEY_PREFIX": f"bench-{name}-{time.time_ns()}",
                   "BACKLOG_MAX_PROMPTS": "0", "PYTHONPATH": src}  # fmt: skip
            gateways[name] = stack.enter_context(gateway_server(env))
        wrk(hello, 2, 1)  # warm-ups, left out
        for base in gateways.values():
            wrk(base + "/api/prompts", 2, 1, create)
        for round_number in range(rounds):
            runs[HELLO].append((wrk(hello, duration, 1)["p50_ms"], 0.0))
            for name, base in gateways.items():
                pid = SERVERS[base]
                before = cpu_seconds(pid)
                measured = wrk(base + "/api/prompts", duration, 1, create)
                cpu_us = (cpu_seconds(pid) - before) * 1e6 / (measured["rps"] * duration)
                runs[name].append((measured["p50_ms"], cpu_us))
            print(f"round {round_number + 1}: " + ", ".join(
                f"{name} {runs[name][-1][0] * 1000:.0f} µs" for name in runs
            ), flush=True)  # fmt: skip
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=int, default=4, help="seconds per variant and round")
    parser.add_argument("variants", nargs="+", help="name=path of a src folder")
    options = parser.parse_args()
    variants = dict(v.split("=", 1) for v in options.variants)
    runs = compare(variants, options.rounds, options.duration)
    hello = statistics.median(p50 for p50, _ in runs[HELLO])
    print(f"\n{'variant':16s} {'p50 µs':>8s} {'over hello':>11s} {'CPU µs':>8s}")
    for name, results in runs.items():
        p50 = statistics.median(p for p, _ in results)
        cpu = statistics.median(c for _, c in results)
        print(f"{name:16s} {p50 * 1000:8.0f} {(p50 - hello) * 1000:+11.0f} "
              f"{cpu if name != HELLO else float('nan'):8.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
