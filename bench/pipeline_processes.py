"""The processes of a pipeline run, shared by ``pipeline_throughput`` and ``pipeline_capacity``:
the gateway's commands as child processes, and a client to load it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import aiohttp
import httpx

API_KEY = "bench-key-0123456789abcdef"


def pipeline_env(redis_url: str, data_dir: str, **extra: str) -> dict[str, str]:
    """The environment of the API and worker processes: the echo provider and the local object
    store in ``data_dir``, no worker inside the API, 32 jobs at once per worker process."""
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "MOSAIC_API_KEYS": f"bench:{API_KEY}",
        "SERVE_WORKER": "false",
        "LOG_LEVEL": "WARNING",
        "ACCESS_LOG": "false",
        "DATA_DIR": data_dir,
        "WORKER_CONCURRENCY": "32",
        **extra,
    }


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ai_gateway", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(30)


def gateway_client(base: str, in_flight: int) -> aiohttp.ClientSession:
    """aiohttp, not httpx, for the load: at a few hundred creations a second httpx's pool, not
    the gateway, sets the pace (about 100/s; ADR 0027 measured the same for the event relay)."""
    return aiohttp.ClientSession(
        base, headers={"X-API-Key": API_KEY}, timeout=aiohttp.ClientTimeout(total=30),
        connector=aiohttp.TCPConnector(limit=in_flight),
    )  # fmt: skip


def answers(base: str) -> bool:
    try:
        return httpx.get(base + "/api/app/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
