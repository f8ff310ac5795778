"""Each side of the pipeline on its own: what one API process creates with no worker running,
then what one worker process completes draining that backlog.

Run concurrently on two shared cores, the API, the worker, Redis and the load generator take CPU
from one another, so the concurrent figures of ``pipeline_throughput`` mix the capacity of the
processes with how the machine shares itself out. Here the API creates the prompts alone, then
the worker drains them alone: the ratio of the two rates is what a deployment giving each process
a core of its own would see. The drain is timed from the prompts' own step timestamps (first
PREPARING to last COMPLETED, or RESPONDED when a callback is due), and the worker's CPU per
prompt is read from /proc.

With ``data_and_callback``, every prompt also downloads a small zip from a real HTTP server on
loopback and calls back a real receiver there that answers at once.
"""

from __future__ import annotations

import asyncio
import base64
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from tests.factories import zip_of
from tests.http_servers import RecordingServer, Reply
from tests.servers import RedisServer, free_port
from tests.waiting import wait_until

from bench.pipeline_processes import (
    API_KEY,
    answers,
    gateway_client,
    pipeline_env,
    start,
    stop,
)

UNFINISHED = ("created", "preparing", "prepared", "submitted")
CALLBACK_SECRET = "whsec_" + base64.b64encode(b"bench-callback-secret-0123456789").decode()
DATA = zip_of({"item.json": b'{"stem": "?"}', "media/figure.png": b"\x89PNG" + os.urandom(2048)})


def cpu_seconds(group: int) -> float:
    """User and system CPU of every process in a process group (the worker's supervisor and
    its worker process), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp; fields[11:13] are utime and stime
            total += int(fields[11]) + int(fields[12])
    return total / ticks


@contextmanager
def outside_world() -> Iterator[RecordingServer]:
    """The data host and the callback receiver, answering at once."""
    server = RecordingServer()
    server.routes["/data/item.zip"] = lambda _: Reply(
        body=DATA, headers={"Content-Type": "application/zip"}
    )
    server.routes["/cb"] = lambda _: Reply(204)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def create(base: str, count: int, concurrency: int, extra: dict[str, str]) -> list[str]:
    ids: list[str] = []
    limit = asyncio.Semaphore(concurrency)
    async with gateway_client(base, concurrency) as client:

        async def one(i: int) -> None:
            body = {"content": f"Prompt number {i}.", **extra}
            async with limit, client.post("/api/prompts", json=body) as response:
                ids.append((await response.json())["id"])

        await asyncio.gather(*(one(i) for i in range(count)))
    return ids


def started(base: str) -> bool:
    """Whether any prompt has left CREATED."""
    with httpx.Client(base_url=base, headers={"X-API-Key": API_KEY}, timeout=5) as client:
        return any(
            client.get("/api/prompts", params={"status": s, "limit": 1}).json()["items"]
            for s in ("preparing", "prepared", "submitted", "completed", "responded")
        )


def wait_drained(base: str, ids: list[str], last: str) -> list[dict[str, object]]:
    """Until no prompt is short of ``last``; the prompts then."""
    pending = (*UNFINISHED, "completed") if last == "responded" else UNFINISHED
    with httpx.Client(base_url=base, headers={"X-API-Key": API_KEY}, timeout=30) as client:

        def drained() -> bool:
            return not any(
                client.get("/api/prompts", params={"status": s, "limit": 1}).json()["items"]
                for s in pending
            )

        deadline = time.monotonic() + 600
        while not drained():  # a slow poll: the worker, not the poll, should have the CPU
            assert time.monotonic() < deadline, "the backlog did not drain in 10 minutes"
            time.sleep(0.2)
        prompts = [client.get(f"/api/prompts/{i}").json() for i in ids]
    missing = [(p["status"], p["fault"], p["delivery"]) for p in prompts if p["status"] != last]
    assert not missing, f"{len(missing)} prompts not {last}, e.g. {missing[:2]}"
    return prompts


def span_seconds(prompts: list[dict[str, object]], first: str, last: str) -> float:
    def stamps(step: str) -> list[datetime]:
        return [datetime.fromisoformat(p["timestamps"][step]) for p in prompts]  # type: ignore[index]

    return (max(stamps(last)) - min(stamps(first))).total_seconds()


@dataclass(frozen=True)
class Capacity:
    variant: str
    prompts: int
    created_per_s: float  # the API alone
    completed_per_s: float  # the worker alone: first PREPARING to last COMPLETED
    drained_per_s: float  # to the last RESPONDED when a callback is due
    worker_cpu_ms_per_prompt: float

    @property
    def ratio(self) -> float:
        return self.drained_per_s / self.created_per_s

    def report(self) -> str:
        return (
            f"\ncapacity, {self.variant}, {self.prompts} prompts, each process alone:\n"
            f"  API alone {self.created_per_s:.0f} created/s; worker alone "
            f"{self.completed_per_s:.0f} completed/s, {self.drained_per_s:.0f} finished/s, "
            f"{self.worker_cpu_ms_per_prompt:.2f} ms of its CPU per prompt; "
            f"ratio {self.ratio:.2f}"
        )


def capacity(prompts: int, concurrency: int, *, data_and_callback: bool) -> Capacity:
    with tempfile.TemporaryDirectory() as tmp, outside_world() as world:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        port = free_port()
        env = pipeline_env(
            redis.url,
            str(Path(tmp) / "data"),
            EGRESS_ALLOW_CIDRS="127.0.0.1/32",
            CALLBACK_SIGNING_SECRET=CALLBACK_SECRET,
        )
        extra = {}
        if data_and_callback:
            extra = {"data_url": world.url("/data/item.zip"), "callback_url": world.url("/cb")}
        last = "responded" if data_and_callback else "completed"
        base = f"http://127.0.0.1:{port}"
        api = start(["serve", "--port", str(port)], env)
        worker = None
        try:
            wait_until(lambda: answers(base), 30, "api")
            began = time.monotonic()
            ids = asyncio.run(create(base, prompts, concurrency, extra))
            created_s = time.monotonic() - began
            worker = start(["worker", "--processes", "1"], env)
            wait_until(lambda: started(base), 60, "the worker")
            cpu_before = cpu_seconds(worker.pid)  # its start-up (imports) left out
            done = wait_drained(base, ids, last)
            worker_cpu = cpu_seconds(worker.pid) - cpu_before
        finally:
            for process in (worker, api):
                if process is not None:
                    stop(process)
            redis.stop()
    return Capacity(
        variant="data package and callback" if data_and_callback else "no data package",
        prompts=prompts,
        created_per_s=prompts / created_s,
        completed_per_s=prompts / span_seconds(done, "preparing", "completed"),
        drained_per_s=prompts / span_seconds(done, "preparing", last),
        worker_cpu_ms_per_prompt=worker_cpu * 1000 / prompts,
    )
