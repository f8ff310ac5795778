"""What the prompt store's two scripts cost inside Redis, beside the minimal baseline's script.

Through the real ``RedisPromptRepository`` (the gateway's defaults: the backlog bound on, no
outbox, no retention), on a real Redis holding ``--earlier`` prompts already (so the indexes are
the sorted sets a running gateway has, not small listpacks): ``--prompts`` creations, each with
its first job, then two saves of each (to PREPARED, then COMPLETED, as the worker's two jobs
leave it). Then ``bench.baseline_app``'s script as often. Reported per EVALSHA:

- by default, Redis's own ``usec_per_call`` (``INFO commandstats``): what a request waits, moved
  by whatever else the machine runs;
- with ``--callgrind``, the instructions Redis executes (Redis under valgrind's callgrind, counting
  inside ``evalShaCommand`` only): the same on every run, so a change to a script shows exactly.

    python -m bench.script_cost [--prompts 3000] [--earlier 1000] [--callgrind]

The code before a change is measured with its ``src`` first on ``PYTHONPATH``, as in
``bench.variants``. Needs valgrind for ``--callgrind`` (Debian: apt-get install valgrind).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from redis.asyncio import Redis
from tests.factories import T0, walk
from tests.servers import LOOPBACK, free_port, redis_binary, redis_ping
from tests.waiting import STARTUP_SECONDS, wait_until

from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from bench.baseline_app import WRITE as BASELINE_SCRIPT

Phase = Callable[[], Awaitable[int]]
"""Runs one phase; returns how many script calls it made."""


class Meter:
    """A Redis of its own, plain or under callgrind, and the cost of one phase's EVALSHAs."""

    def __init__(self, workdir: Path, *, callgrind: bool) -> None:
        self.workdir = workdir
        self.callgrind = callgrind
        self.port = free_port()
        command = [redis_binary(), "--port", str(self.port), "--bind", LOOPBACK, "--save", "",
                   "--appendonly", "no", "--dir", str(workdir)]  # fmt: skip
        if callgrind:
            command = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                       "--toggle-collect=evalShaCommand",
                       f"--callgrind-out-file={workdir}/callgrind.out.%p", *command]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_until(lambda: redis_ping(self.port), 10 * STARTUP_SECONDS, "redis")
        self.redis = Redis.from_url(f"redis://{LOOPBACK}:{self.port}/0", decode_responses=True)

    async def cost(self, phase: Phase) -> float:
        """Microseconds (or, under callgrind, instructions) per script call of ``phase``."""
        if self.callgrind:
            self._instructions()
            calls = await phase()
            return self._instructions() / calls
        await self.redis.config_resetstat()
        await phase()
        stats = await self.redis.info("commandstats")
        return float(stats["cmdstat_evalsha"]["usec_per_call"])

    def _instructions(self) -> int:
        """Instructions counted since the last call: callgrind dumps them, and starts over."""
        before = set(self.workdir.glob("callgrind.out.*"))
        subprocess.run(["callgrind_control", "--dump", str(self.process.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        wait_until(lambda: bool(set(self.workdir.glob("callgrind.out.*")) - before), 30, "dump")
        (dump,) = set(self.workdir.glob("callgrind.out.*")) - before
        wait_until(lambda: "totals:" in dump.read_text(), 30, "dump written")
        for line in dump.read_text().splitlines():
            if line.startswith("totals:"):
                return int(line.split()[1])
        raise RuntimeError(f"no totals in {dump}")

    async def close(self) -> None:
        await self.redis.aclose()
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(30)


def _prompts(count: int, label: str) -> list[Prompt]:
    return [
        Prompt.create(owner="apikey:bench", content=f"{label} {i}", at=T0) for i in range(count)
    ]


async def measure(meter: Meter, prompts: int, earlier: int) -> dict[str, float]:
    repo = RedisPromptRepository(meter.redis, prefix=f"bench{int(time.time())}")

    async def create(batch: list[Prompt]) -> int:
        for prompt in batch:
            await repo.add(prompt, first_job=Job.of(JobStep.PREPARE, prompt))
        return len(batch)

    async def save(batch: list[Prompt]) -> int:
        for target in (PromptStatus.PREPARED, PromptStatus.COMPLETED):
            for prompt in batch:
                walk(prompt, target, T0 + timedelta(seconds=2))
                await repo.save(prompt)
        return 2 * len(batch)

    baseline = meter.redis.register_script(BASELINE_SCRIPT)

    async def minimal() -> int:
        for _ in range(prompts):
            prompt_id = uuid.uuid4().hex
            keys = [f"b:p:{prompt_id}", "b:i:owner:bench", "b:i:status:CREATED", "b:jobs"]
            await baseline(keys=keys, args=["{}", time.time(), prompt_id])
        return prompts

    await create(_prompts(earlier, "earlier"))
    batch = _prompts(prompts, "measured")
    return {
        "CREATE": await meter.cost(lambda: create(batch)),
        "SAVE": await meter.cost(lambda: save(batch)),
        "minimal script": await meter.cost(minimal),
    }


async def run(prompts: int, earlier: int, *, callgrind: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        meter = Meter(Path(tmp), callgrind=callgrind)
        try:
            return await measure(meter, prompts, earlier)
        finally:
            await meter.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=3000, help="prompts measured")
    parser.add_argument("--earlier", type=int, default=1000, help="prompts stored before")
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead")
    args = parser.parse_args()
    if args.callgrind and shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    costs = asyncio.run(run(args.prompts, args.earlier, callgrind=args.callgrind))
    unit = "instructions" if args.callgrind else "µs (usec_per_call)"
    for name, cost in costs.items():
        print(f"{name:16s} {cost:12,.1f} {unit} per call")


if __name__ == "__main__":
    main()
