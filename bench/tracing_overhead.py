"""What tracing costs prompt creation: ``POST /api/prompts`` with tracing off, on at 100 % and on
at 10 % sampling, and, with ``--before SRC``, the gateway's code from before tracing (a checkout's
``src`` folder) as the reference for "off".

Each variant is one uvicorn process against one real Redis, loaded by wrk as in
``bench.http_load``; traced variants export over OTLP/HTTP to a receiver in this process that
decodes every batch (``tests.otlp_receiver``). Variants run in turn, ``--rounds`` times, so that a
drift of the shared machine touches them all alike; the median of the rounds is reported.

    python -m bench.tracing_overhead [--duration 10] [--rounds 3] [--before /path/to/src]
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


def variants(receiver: OtlpReceiver, before: Path | None) -> dict[str, dict[str, str]]:
    traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "500"}
    found = {
        "tracing off": {},
        "on, 100 %": {**traced, "OTEL_TRACES_SAMPLER": "parentbased_always_on"},
        "on, 10 %": {**traced, "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                     "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    }  # fmt: skip
    if before is not None:
        found = {"before tracing": {"PYTHONPATH": str(before)}, **found}
    return found


def run(duration: int, connections: int, rounds: int, before: Path | None) -> dict[str, object]:
    runs: dict[str, list[dict[str, float]]] = {}
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
                        runs.setdefault(name, []).append(
                            wrk(gw + "/api/prompts", duration, connections, create)
                        )
        finally:
            redis.stop()
            receiver.stop()
    results = {
        name: {key: statistics.median(r[key] for r in measured) for key in measured[0]}
        for name, measured in runs.items()
    }
    return {"results": results, "runs": runs, "spans_received": len(receiver.spans)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, help="src folder of the gateway before tracing")
    args = parser.parse_args()
    record = run(args.duration, args.connections, args.rounds, args.before)
    results: dict[str, dict[str, float]] = record["results"]  # type: ignore[assignment]
    reference = results.get("before tracing", results["tracing off"])["rps"]
    print(f"\n{'scenario':18s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'vs ref':>7s}")
    for name, r in results.items():
        print(f"{name:18s} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
              f"{r['rps'] / reference:7.3f}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record |= {"when": stamp, "duration_s": args.duration, "connections": args.connections,
               "rounds": args.rounds, "cores": os.cpu_count()}  # fmt: skip
    (RESULTS / f"tracing_overhead-{stamp}.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
