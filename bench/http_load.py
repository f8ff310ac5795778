"""HTTP load: create-prompt and get-prompt on a real uvicorn + real Redis, next to a FastAPI hello.

Creation is measured with API-key authentication and with a JWT from a real OpenID Connect
provider (tests/idp, on Node), whose keys the gateway fetches and caches.

Each server is one uvicorn process (uvloop, httptools, no access log); the gateway runs as
``ai-gateway serve`` runs it (its ``GuardedHttpProtocol``, its settings), not as a bare uvicorn
app. The load comes from wrk in another process. Every run measures the baselines beside the
gateway, so each figure is a ratio from one run: FastAPI hello (native telemetry off, as the
gateway has it; FastAPI's defaults too), and the minimal FastAPI + Redis endpoints of
``bench.baseline_app`` that validate the same body and write the same data with one script, or
read the same hash. At one connection, the p50 over FastAPI hello is the single-request overhead.

    python -m bench.http_load [--duration 10] [--connections 32] [--rounds 3]

Every server runs for the whole run, and each round runs every scenario in turn: a ratio is
taken within one round, and the medians over the rounds are reported.

Needs wrk (Debian: apt-get install wrk). Results are printed and written to bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
from tests.idp_server import IdpServer
from tests.servers import RedisServer, free_port
from tests.waiting import wait_until

API_KEY = "bench-key-0123456789abcdef"
JSON = {"Content-Type": "application/json"}
BODY = json.dumps({"content": "Review this exam item for technical accuracy.", "kind": "generic"})
RESULTS = Path(__file__).parent / "results"


@contextlib.contextmanager
def uvicorn_server(target: str, env: dict[str, str], *factory: str) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, *factory, "--port", str(port),
               "--no-access-log", "--log-level", "warning"]  # fmt: skip
    with _process(command, env, port) as base:
        yield base


@contextlib.contextmanager
def gateway_server(env: dict[str, str]) -> Iterator[str]:
    """``ai-gateway serve``, as deployed: its own uvicorn configuration and HTTP protocol."""
    port = free_port()
    command = [sys.executable, "-m", "ai_gateway", "serve", "--port", str(port)]
    with _process(command, {**env, "ACCESS_LOG": "false", "HOST": "127.0.0.1"}, port) as base:
        yield base


@contextlib.contextmanager
def _process(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(
        command, env={**os.environ, **env}, start_new_session=True, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    SERVERS[base] = process.pid
    try:
        wait_until(lambda: _answers(base), 30, command[2])
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


SERVERS: dict[str, int] = {}
"""Each running server's base URL and process id, whose CPU time ``measure`` reads."""


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used so far (user and system), from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    url: str, duration: int, connections: int, script: str | None = None
) -> dict[str, float]:
    """``wrk``'s figures, and ``cpu_us``: the CPU time the server spent per request, which moves
    much less than requests/s with what else runs on the machine."""
    pid = SERVERS[next(base for base in SERVERS if url.startswith(base))]
    before = cpu_seconds(pid)
    result = wrk(url, duration, connections, script)
    requests = result["rps"] * duration
    return {**result, "cpu_us": 1e6 * (cpu_seconds(pid) - before) / requests}


def _answers(base: str) -> bool:
    try:
        httpx.get(base + "/openapi.json", timeout=1)
    except httpx.TransportError:
        return False
    return True


def wrk(url: str, duration: int, connections: int, script: str | None = None) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script is not None:
            lua.write(script)
            lua.flush()
            command[1:1] = ["-s", lua.name]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
    }


def warm_up(url: str, duration: int, connections: int, script: str | None = None) -> None:
    """A run whose figures are dropped: the first one against a fresh server also paid for its
    connections to Redis being opened and its caches filled, and made whichever scenario came
    first (creation with an API key) look slower than the later ones."""
    wrk(url, min(duration, 2), connections, script)


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def headers_lua(method: str, body: str | None = None, token: str | None = None) -> str:
    auth = (
        f'wrk.headers["Authorization"] = "Bearer {token}"'
        if token
        else (f'wrk.headers["X-API-Key"] = "{API_KEY}"')
    )
    lines = [f'wrk.method = "{method}"', auth]
    if body is not None:
        lines += ['wrk.headers["Content-Type"] = "application/json"', f"wrk.body = [[{body}]]"]
    return "\n".join(lines) + "\n"


Scenario = tuple[str, str, int, str | None]  # name, URL, connections, wrk script


def run(duration: int, connections: int, rounds: int) -> dict[str, list[dict[str, float]]]:
    """Every server runs at once; each round runs every scenario in turn, so that the load
    others put on the machine drifts across all of them alike, and each figure is kept per
    round."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        stack.callback(redis.stop)
        idp = IdpServer(Path(tmp), token_ttl=3600)
        idp.start()
        stack.callback(idp.stop)
        hello = stack.enter_context(uvicorn_server("bench.hello_app:app", {}))
        lean = stack.enter_context(uvicorn_server("bench.hello_app:lean_app", {}))
        minimal = stack.enter_context(
            uvicorn_server("bench.baseline_app:app", {"REDIS_URL": redis.url})
        )
        env = {
            "JWT_AUTHORITY": idp.issuer,
            "REDIS_URL": redis.url,
            "MOSAIC_API_KEYS": f"bench:{API_KEY}",
            "LOG_LEVEL": "WARNING",
            "REDIS_KEY_PREFIX": f"bench{int(time.time())}",
            "BACKLOG_MAX_PROMPTS": "0",  # no worker runs: every creation stays in the backlog
        }
        gateway = stack.enter_context(gateway_server(env))
        scenarios = _scenarios(hello, lean, minimal, gateway, connections, idp)
        for _, url, count, script in scenarios:
            warm_up(url, duration, count, script)
        results: dict[str, list[dict[str, float]]] = {name: [] for name, *_ in scenarios}
        for _ in range(rounds):
            for name, url, count, script in scenarios:
                results[name].append(measure(url, duration, count, script))
        return results


def _scenarios(
    hello: str, lean: str, minimal: str, gateway: str, connections: int, idp: IdpServer
) -> list[Scenario]:
    create = headers_lua("POST", BODY)
    minimal_read = httpx.post(minimal + "/prompts", content=BODY, headers=JSON).headers["location"]
    created = httpx.post(
        gateway + "/api/prompts", content=BODY, headers={"X-API-Key": API_KEY, **JSON}
    )
    with_jwt = headers_lua("POST", BODY, token=idp.token("ai-gateway", "api"))
    return [
        ("fastapi hello, defaults", hello + "/hello", connections, None),
        ("fastapi hello (baseline)", lean + "/hello", connections, None),
        ("fastapi hello, c=1", lean + "/hello", 1, None),
        ("minimal create", minimal + "/prompts", connections, create),
        ("minimal create, c=1", minimal + "/prompts", 1, create),
        ("minimal read", minimal + minimal_read, connections, None),
        ("POST /api/prompts", gateway + "/api/prompts", connections, create),
        ("POST /api/prompts (JWT)", gateway + "/api/prompts", connections, with_jwt),
        ("POST /api/prompts, c=1", gateway + "/api/prompts", 1, create),
        ("GET /api/prompts/{id}", gateway + created.headers["location"], connections,
         headers_lua("GET")),
    ]  # fmt: skip


RATIOS = (
    ("POST /api/prompts", "minimal create"),
    ("POST /api/prompts (JWT)", "minimal create"),
    ("GET /api/prompts/{id}", "minimal read"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="every scenario, this many times")
    args = parser.parse_args()
    results = run(args.duration, args.connections, args.rounds)
    median = statistics.median
    print(f"\n{'scenario':28s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'CPU µs':>8s}"
          "  (medians of rounds)")  # fmt: skip
    for name, runs in results.items():
        rps, p50, p99, cpu = (
            median(r[k] for r in runs) for k in ("rps", "p50_ms", "p99_ms", "cpu_us")
        )
        print(f"{name:28s} {rps:9.0f} {p50:8.2f} {p99:8.2f} {cpu:8.0f}")
    summary: dict[str, list[float]] = {}
    for name, baseline in RATIOS:
        pairs = list(zip(results[name], results[baseline], strict=True))
        summary[f"{name} / {baseline}, requests/s"] = [g["rps"] / b["rps"] for g, b in pairs]
        summary[f"{name} / {baseline}, by CPU per request"] = [
            b["cpu_us"] / g["cpu_us"] for g, b in pairs
        ]
    for name in ("minimal create, c=1", "POST /api/prompts, c=1"):
        hello = results["fastapi hello, c=1"]
        overs = [
            1000 * (r["p50_ms"] - h["p50_ms"]) for r, h in zip(results[name], hello, strict=True)
        ]
        summary[f"{name}: p50 µs over hello"] = overs
    for name, values in summary.items():
        shown = ", ".join(f"{v:.2f}" if abs(v) < 10 else f"{v:+.0f}" for v in values)
        print(f"{name}: median {median(values):.2f} (rounds: {shown})")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {"when": stamp, "duration_s": args.duration, "connections": args.connections,
              "rounds": args.rounds, "cores": os.cpu_count(), "load": os.getloadavg(),
              "results": results, "summary": summary}  # fmt: skip
    (RESULTS / f"http_load-{stamp}.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
