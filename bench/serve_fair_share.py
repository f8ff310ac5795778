"""The in-process worker's share of ``ai-gateway serve`` under API load.

One ``ai-gateway serve`` on its embedded default (its own Valkey on a unix socket, its in-process
worker, the echo provider, the local object store), exactly as a new user runs it, with wrk
creating prompts at saturation for ``--duration`` seconds. From the embedded server's status
indexes, read before and after the load: prompts created per second, prompts completed per second,
their ratio and the backlog left; from wrk, the creation latency (p50, p99) and the 503s (the
backlog bound). Each ``--variant`` (settings, ``NAME=VALUE`` joined by commas; ``default`` for
none) is one run, in a fresh data folder; by default, the defaults and the set-up before ADR 0031
(8 jobs at once, creations not held back).

    python -m bench.serve_fair_share [--duration 15] [--connections 32]
        [--variant default --variant SERVE_WORKER_CONCURRENCY=64,SERVE_CREATION_CONCURRENCY=4 ...]

Needs wrk (Debian: apt-get install wrk). Results are printed and written to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import redis
from tests.servers import answers_ready, free_port
from tests.waiting import wait_until

from bench.http_load import BODY, _ms

RESULTS = Path(__file__).parent / "results"
PREFIX = "gw"  # the default REDIS_KEY_PREFIX
BEFORE_AND_NOW = ("SERVE_WORKER_CONCURRENCY=8,SERVE_CREATION_CONCURRENCY=0", "default")


def parse_variant(text: str) -> dict[str, str]:
    if text == "default":
        return {}
    return dict(pair.split("=", 1) for pair in text.split(","))


STATUSES = ("created", "preparing", "prepared", "submitted", "completed")


def counts(client: redis.Redis) -> dict[str, int]:
    """Prompts created so far (``all``), and those in each status."""
    with client.pipeline(transaction=False) as pipe:
        pipe.zcard(f"{PREFIX}:ix:all")
        for status in STATUSES:
            pipe.zcard(f"{PREFIX}:ix:s:{status}")
        replies = pipe.execute()
    return dict(zip(("all", *STATUSES), (int(n) for n in replies), strict=True))


def creation_load(url: str, key: str, duration: int, connections: int) -> dict[str, float]:
    """wrk creating prompts; 503s (a full backlog) are counted, not fatal."""
    lua = (
        f'wrk.method = "POST"\nwrk.headers["X-API-Key"] = "{key}"\n'
        f'wrk.headers["Content-Type"] = "application/json"\nwrk.body = [[{BODY}]]\n'
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua)
        script.flush()
        command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
                   "-s", script.name, url]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    refused = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "requests": float(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "non_2xx": float(refused.group(1)) if refused else 0.0,
        "socket_errors": float("Socket errors" in out),
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
    }


def run(settings: dict[str, str], duration: int, connections: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="fair") as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "MOSAIC_API_KEYS"}}
        env.update({"DATA_DIR": str(data), "LOG_LEVEL": "WARNING", "ACCESS_LOG": "false",
                    "HOST": "127.0.0.1", **settings})  # fmt: skip
        log = Path(tmp) / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "ai_gateway", "serve", "--port", str(port)],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            ready = base + "/api/app/ready"
            wait_until(lambda: answers_ready(ready, process, log), 60, "ai-gateway serve")
            key = (data / "api-key").read_text().strip()
            store = redis.Redis(unix_socket_path=str(data / "redis" / "redis.sock"))
            before = counts(store)
            began = time.monotonic()
            load = creation_load(base + "/api/prompts", key, duration, connections)
            elapsed = time.monotonic() - began
            after = counts(store)
            store.close()
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(60)
    created = (after["all"] - before["all"]) / elapsed
    completed = (after["completed"] - before["completed"]) / elapsed
    jobs = (_jobs_done(after) - _jobs_done(before)) / elapsed
    return {
        "settings": settings,
        "created_per_s": created,
        "completed_per_s": completed,
        "ratio": completed / created if created else 0.0,
        "jobs_per_s": jobs,
        "backlog_left": after["all"] - after["completed"],
        "statuses_after": after,
        "refused_503": load["non_2xx"],
        "p50_ms": load["p50_ms"],
        "p99_ms": load["p99_ms"],
    }


def _jobs_done(statuses: dict[str, int]) -> int:
    """The worker's jobs done: a prepared prompt has had one (prepare), a submitted or completed
    one two (prepare, submit)."""
    return statuses["prepared"] + 2 * (statuses["submitted"] + statuses["completed"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per variant")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--variant", action="append", default=None, help="NAME=VALUE,...")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    variants = [parse_variant(v) for v in args.variant or [*BEFORE_AND_NOW]]
    load_average = os.getloadavg()
    results = [run(v, args.duration, args.connections) for v in variants]
    print(f"\n{args.duration} s of creations, wrk c={args.connections}, load average "
          f"{load_average[0]:.1f} before")  # fmt: skip
    print(f"{'created/s':>9s} {'done/s':>7s} {'ratio':>6s} {'503s':>6s} {'left':>6s} "
          f"{'jobs/s':>7s} {'p50 ms':>7s} {'p99 ms':>7s}  variant")  # fmt: skip
    for r in results:
        settings = r["settings"]
        assert isinstance(settings, dict)
        name = ",".join(f"{k}={v}" for k, v in settings.items()) or "default"
        print(f"{r['created_per_s']:9.0f} {r['completed_per_s']:7.0f} {r['ratio']:6.2f} "
              f"{r['refused_503']:6.0f} {r['backlog_left']:6d} {r['jobs_per_s']:7.0f} "
              f"{r['p50_ms']:7.1f} {r['p99_ms']:7.1f}  {name}")  # fmt: skip
        print(f"{'':9s} statuses after: {r['statuses_after']}")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {"when": stamp, "duration_s": args.duration, "connections": args.connections,
              "cores": os.cpu_count(), "load_average": load_average, "runs": results}  # fmt: skip
    (RESULTS / f"serve_fair_share-{stamp}.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
