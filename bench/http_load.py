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

    python -m bench.http_load [--duration 10] [--connections 32]

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
    try:
        wait_until(lambda: _answers(base), 30, command[2])
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


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


def run(duration: int, connections: int) -> dict[str, dict[str, float]]:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    results: dict[str, dict[str, float]] = {}
    with uvicorn_server("bench.hello_app:app", {}) as hello:
        warm_up(hello + "/hello", duration, connections)
        results["fastapi hello, defaults"] = wrk(hello + "/hello", duration, connections)
    with uvicorn_server("bench.hello_app:lean_app", {}) as hello:
        warm_up(hello + "/hello", duration, connections)
        results["fastapi hello (baseline)"] = wrk(hello + "/hello", duration, connections)
        results["fastapi hello, c=1"] = wrk(hello + "/hello", duration, 1)
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        idp = IdpServer(Path(tmp), token_ttl=3600)
        idp.start()
        try:
            with uvicorn_server("bench.baseline_app:app", {"REDIS_URL": redis.url}) as minimal:
                create = headers_lua("POST", BODY)
                warm_up(minimal + "/prompts", duration, connections, create)
                results["minimal create"] = wrk(minimal + "/prompts", duration, connections, create)
                results["minimal create, c=1"] = wrk(minimal + "/prompts", duration, 1, create)
                path = httpx.post(minimal + "/prompts", content=BODY, headers=JSON).headers[
                    "location"
                ]
                results["minimal read"] = wrk(minimal + path, duration, connections)
            env = {
                "JWT_AUTHORITY": idp.issuer,
                "REDIS_URL": redis.url,
                "MOSAIC_API_KEYS": f"bench:{API_KEY}",
                "LOG_LEVEL": "WARNING",
                "REDIS_KEY_PREFIX": f"bench{int(time.time())}",
            }
            with gateway_server(env) as gateway:
                results.update(_gateway(gateway, duration, connections, idp))
        finally:
            idp.stop()
            redis.stop()
    return results


def _gateway(
    gateway: str, duration: int, connections: int, idp: IdpServer
) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    create = headers_lua("POST", BODY)
    url = gateway + "/api/prompts"
    warm_up(url, duration, connections, create)
    results["POST /api/prompts"] = wrk(url, duration, connections, create)
    results["POST /api/prompts, c=1"] = wrk(url, duration, 1, create)
    created = httpx.post(url, content=BODY, headers={"X-API-Key": API_KEY, **JSON})
    path = created.headers["location"]
    results["GET /api/prompts/{id}"] = wrk(
        gateway + path, duration, connections, headers_lua("GET")
    )
    with_jwt = headers_lua("POST", BODY, token=idp.token("ai-gateway", "api"))
    results["POST /api/prompts (JWT)"] = wrk(url, duration, connections, with_jwt)
    return results


RATIOS = (
    ("POST /api/prompts", "minimal create"),
    ("POST /api/prompts (JWT)", "minimal create"),
    ("GET /api/prompts/{id}", "minimal read"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    results = run(args.duration, args.connections)
    base = results["fastapi hello (baseline)"]["rps"]
    print(f"\n{'scenario':28s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'vs hello':>9s}")
    for name, r in results.items():
        ratio = r["rps"] / base
        print(f"{name:28s} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {ratio:9.2f}")
    for name, baseline in RATIOS:
        print(f"{name} / {baseline}: {results[name]['rps'] / results[baseline]['rps']:.2f}")
    hello = results["fastapi hello, c=1"]["p50_ms"]
    for name in ("minimal create, c=1", "POST /api/prompts, c=1"):
        print(f"{name}: p50 {1000 * (results[name]['p50_ms'] - hello):+.0f} µs over hello")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {"when": stamp, "duration_s": args.duration, "connections": args.connections,
              "cores": os.cpu_count(), "results": results}  # fmt: skip
    (RESULTS / f"http_load-{stamp}.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
