"""What tracing costs prompt creation: ``POST /api/prompts`` with tracing off, on at 100 % and on
at 10 % sampling, and, with ``--before NAME=SRC`` (repeatable), earlier code of the gateway (a
checkout's ``src`` folder: before tracing, before metrics) as the references for "off".

Each variant is one uvicorn process against one real Redis, loaded by wrk as in
``bench.http_load``; traced variants export over OTLP/HTTP to a receiver in this process that
decodes every batch (``tests.otlp_receiver``). Variants run in turn, ``--rounds`` times, so that a
drift of the shared machine touches them all alike; the median of the rounds is reported. A round
in which wrk saw errors or time-outs is kept in the record, not in the median.

Throughput on a shared machine says more about the neighbours than about the gateway, so each run
also reports the CPU time the gateway's process spent per creation (``cpu_us``, from
``/proc/<pid>/stat``): work added per request shows there whatever else the machine runs.

    python -m bench.tracing_overhead [--duration 10] [--rounds 3] [--before "before tracing=SRC"]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.otlp_receiver import OtlpReceiver
from tests.servers import RedisServer

from bench.http_load import API_KEY, BODY, RESULTS, headers_lua, uvicorn_server, wrk


def variants(receiver: OtlpReceiver, before: dict[str, Path]) -> dict[str, dict[str, str]]:
    traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "500"}
    found = {
        "tracing off": {},
        "on, 100 %": {**traced, "OTEL_TRACES_SAMPLER": "parentbased_always_on"},
        "on, 10 %": {**traced, "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                     "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    }  # fmt: skip
    return {**{name: {"PYTHONPATH": str(src)} for name, src in before.items()}, **found}


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


def run(duration: int, connections: int, rounds: int, before: dict[str, Path]) -> dict[str, object]:
    runs: dict[str, list[dict[str, float]]] = {}
    failed: dict[str, list[str]] = {}
    receiver = OtlpReceiver()
    receiver.start()
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        try:
            for _ in range(rounds):
                for name, extra in variants(receiver, before).items():
                    env = {"REDIS_URL": redis.url, "MOSAIC_API_KEYS": f"bench:{API_KEY}",
                           "LOG_LEVEL": "WARNING", "REDIS_KEY_PREFIX": f"bench{time.time_ns()}",
                           **extra}  # fmt: skip
                    with uvicorn_server("ai_gateway.bootstrap:create_app", env, "--factory") as gw:
                        create = headers_lua("POST", BODY)
                        cpu = gateway_cpu_seconds()
                        try:
                            measured = wrk(gw + "/api/prompts", duration, connections, create)
                        except RuntimeError as exc:
                            failed.setdefault(name, []).append(str(exc))
                            continue
                        cpu = gateway_cpu_seconds() - cpu
                        measured["cpu_us"] = 1e6 * cpu / (measured["rps"] * duration)
                        runs.setdefault(name, []).append(measured)
        finally:
            redis.stop()
            receiver.stop()
    results = {
        name: {key: statistics.median(r[key] for r in runs[name]) for key in runs[name][0]}
        for name in variants(receiver, before)
        if name in runs
    }
    return {
        "results": results,
        "runs": runs,
        "failed": failed,
        "spans_received": len(receiver.spans),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--before", action="append", default=[], metavar="NAME=SRC",
        help="a reference: the src folder of an earlier gateway, under a name",
    )  # fmt: skip
    args = parser.parse_args()
    before = {name: Path(src) for name, _, src in (b.partition("=") for b in args.before)}
    record = run(args.duration, args.connections, args.rounds, before)
    results: dict[str, dict[str, float]] = record["results"]  # type: ignore[assignment]
    failed: dict[str, list[str]] = record["failed"]  # type: ignore[assignment]
    reference = results[next(iter(results))]
    print(f"\n{'scenario':18s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'vs ref':>7s} "
          f"{'CPU µs':>7s} {'vs ref':>7s} rounds")  # fmt: skip
    for name, r in results.items():
        kept = f"{len(record['runs'][name])}/{args.rounds}"  # type: ignore[index]
        print(f"{name:18s} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
              f"{r['rps'] / reference['rps']:7.3f} {r['cpu_us']:7.0f} "
              f"{r['cpu_us'] / reference['cpu_us']:7.3f} {kept}")  # fmt: skip
    for name, errors in failed.items():
        print(f"{name}: {len(errors)} round(s) with wrk errors, left out")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record |= {"when": stamp, "duration_s": args.duration, "connections": args.connections,
               "rounds": args.rounds, "cores": os.cpu_count()}  # fmt: skip
    (RESULTS / f"tracing_overhead-{stamp}.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
