"""``POST /api/prompts`` under several configurations of the gateway, side by side in one run.

What a feature costs creation (tracing, caller limits) is the difference between variants that
differ only in their environment, or in the gateway's code (``PYTHONPATH`` set to an earlier
checkout's ``src``). Each variant is one uvicorn process against one real Redis, loaded by wrk as
in ``bench.http_load``. Variants run in turn, ``rounds`` times, so that a drift of the shared
machine touches them all alike; the median of the rounds is reported. A round in which wrk saw
errors or time-outs is kept in the record, not in the median.

Throughput on a shared machine says more about the neighbours than about the gateway, so each
round also reports the CPU time the gateway's process spent per creation (``cpu_us``, from
``/proc/<pid>/stat``): work added per request shows there whatever else the machine runs.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from tests.servers import RedisServer

from bench.http_load import API_KEY, BODY, RESULTS, headers_lua, uvicorn_server, wrk

SIGNING_SECRET = "whsec_" + base64.b64encode(b"bench-callback-signing-secret!!!").decode()

Variants = Mapping[str, Mapping[str, str]]
"""A variant's name, and what its gateway's environment adds to the common one."""


def gateway_cpu_seconds() -> float:
    """CPU time used so far by this process's uvicorn children (the gateway under load)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == os.getpid() and b"uvicorn" in command:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def compare(variants: Variants, duration: int, connections: int, rounds: int) -> dict[str, object]:
    """Every variant measured ``rounds`` times in turn; the medians under ``results``."""
    runs: dict[str, list[dict[str, float]]] = {}
    failed: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        try:
            for _ in range(rounds):
                for name, extra in variants.items():
                    env = {"REDIS_URL": redis.url, "MOSAIC_API_KEYS": f"bench:{API_KEY}",
                           "LOG_LEVEL": "WARNING", "REDIS_KEY_PREFIX": f"bench{time.time_ns()}",
                           "CALLBACK_SIGNING_SECRET": SIGNING_SECRET, **extra}  # fmt: skip
                    with uvicorn_server("ai_gateway.bootstrap:create_app", env, "--factory") as gw:
                        cpu = gateway_cpu_seconds()
                        try:
                            measured = wrk(
                                gw + "/api/prompts", duration, connections,
                                headers_lua("POST", BODY),
                            )  # fmt: skip
                        except RuntimeError as exc:
                            failed.setdefault(name, []).append(str(exc))
                            continue
                        cpu = gateway_cpu_seconds() - cpu
                        measured["cpu_us"] = 1e6 * cpu / (measured["rps"] * duration)
                        runs.setdefault(name, []).append(measured)
        finally:
            redis.stop()
    results = {
        name: {key: statistics.median(r[key] for r in runs[name]) for key in runs[name][0]}
        for name in variants
        if name in runs
    }
    return {"results": results, "runs": runs, "failed": failed}


def report(record: dict[str, object], bench: str, **settings: object) -> None:
    """Prints the table, each variant against the first measured, and keeps the record in
    bench/results."""
    results: dict[str, dict[str, float]] = record["results"]  # type: ignore[assignment]
    runs: dict[str, list[object]] = record["runs"]  # type: ignore[assignment]
    failed: dict[str, list[str]] = record["failed"]  # type: ignore[assignment]
    if results:
        reference_name = next(iter(results))  # the first variant, unless wrk failed every round
        reference = results[reference_name]
        print(f"\nagainst {reference_name}")
        print(f"{'scenario':24s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'vs ref':>7s} "
              f"{'CPU µs':>7s} {'vs ref':>7s} rounds")  # fmt: skip
    for name, r in results.items():
        print(f"{name:24s} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
              f"{r['rps'] / reference['rps']:7.3f} {r['cpu_us']:7.0f} "
              f"{r['cpu_us'] / reference['cpu_us']:7.3f} {len(runs[name])}")  # fmt: skip
    for name, errors in failed.items():
        print(f"{name}: {len(errors)} round(s) with wrk errors, left out")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record |= {"when": stamp, "cores": os.cpu_count(), "load": os.getloadavg(), **settings}
    (RESULTS / f"{bench}-{stamp}.json").write_text(json.dumps(record, indent=2))
