"""A full deployment for process-level tests: API and worker processes against real servers.

Redis, SeaweedFS and the identity provider are the session's; the outside world is
``tests.e2e.outside_world``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.outside_world import CALLBACK_SECRET, Services
from tests.idp_server import CLIENTS, RESOURCE, IdpServer
from tests.servers import (
    S3_ACCESS_KEY,
    S3_SECRET_KEY,
    RedisServer,
    SeaweedServer,
    answers_ready,
    free_port,
)
from tests.waiting import STARTUP_SECONDS, wait_until

API_KEY = "e2e-key-0123456789abcdef"
TERMINAL = {"completed", "responded", "faulted", "cancelled"}


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def worker(cls, env: dict[str, str], log: Path) -> Process:
        """An ``ai-gateway worker`` of one process, its metrics and probes on a port of its own."""
        port = str(free_port())
        return cls(["worker", "--processes", "1"], {**env, "WORKER_METRICS_PORT": port}, log)

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.env['WORKER_METRICS_PORT']}"

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ai_gateway", *self.args], env=self.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        return self

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        self.signal(sig)
        self.wait()

    def signal(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Asks the process (and its children) to stop, without waiting for it."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)

    def wait(self) -> None:
        """Waits for a signalled process to exit; one that takes too long is killed."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class Deployment:
    """API and worker processes sharing one Redis, one bucket and one set of settings."""

    workdir: Path
    env: dict[str, str]
    apis: list[tuple[Process, str]] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)

    def api(self) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        if not self.apis:  # where the GenAI service posts answers back: the first API
            self.env["GATEWAY_PUBLIC_URL"] = url
        process = Process(
            ["serve", "--port", str(port)], self.env, self.workdir / f"api-{port}.log"
        )
        process.start()
        wait_until(
            lambda: answers_ready(f"{url}/api/app/ready", process.process, process.log),
            STARTUP_SECONDS,
            f"api on {port} ({process.log})",
        )
        self.apis.append((process, url))
        return url

    def worker(self) -> Process:
        process = Process.worker(self.env, self.workdir / f"worker-{len(self.workers)}.log").start()
        self.workers.append(process)
        return process

    def kill_and_replace_worker(self, index: int) -> None:
        """SIGKILL a worker (its supervisor and process together), as a crash would, and start
        another in its place."""
        self.workers[index].stop(signal.SIGKILL)
        log = self.workdir / f"worker-{index}-{time.monotonic_ns()}.log"
        self.workers[index] = Process.worker(self.env, log).start()

    def client(self, index: int = 0) -> httpx.Client:
        return httpx.Client(
            base_url=self.apis[index][1], headers={"X-API-Key": API_KEY}, timeout=10
        )

    def stop(self) -> None:
        """Signals every process first, so that they shut down together, not one after another."""
        processes = [*self.workers, *(process for process, _ in self.apis)]
        for process in processes:
            process.signal()
        for process in processes:
            process.wait()


def deployment_env(
    redis: RedisServer, s3: SeaweedServer, idp: IdpServer, services: Services, **overrides: str
) -> dict[str, str]:
    unique = uuid.uuid4().hex[:10]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "S3_", "GENAI_", "JWT_"))
    }
    env.update({
        "REDIS_URL": redis.url,
        "REDIS_KEY_PREFIX": f"e2e{unique}",
        "MOSAIC_API_KEYS": f"mosaic:{API_KEY}",
        "SERVE_WORKER": "false",
        "ACCESS_LOG": "false",
        "S3_ENDPOINT": f"http://{s3.endpoint}",
        "S3_ACCESS_KEY": S3_ACCESS_KEY,
        "S3_SECRET_KEY": S3_SECRET_KEY,
        "S3_BUCKET": f"e2e-{unique}",
        "EGRESS_ALLOW_CIDRS": "127.0.0.0/8",
        "CALLBACK_SIGNING_SECRET": CALLBACK_SECRET,
        "CALLBACK_RETRY_SCHEDULE": "0.5,0.5,0.5,0.5",
        "JOB_CLAIM_IDLE_SECONDS": "3",
        "STUCK_AFTER_SECONDS": "6",
        "RECONCILE_INTERVAL_SECONDS": "1",
        "RETRY_BASE_SECONDS": "0.2",
        "JWT_AUTHORITY": idp.issuer,
        "GENAI_PROVIDER": "echo",
        "OPENAI_BASE_URL": services.http.url("/v1"),
        "OPENAI_MODEL": "fake",
        "GENAI_API_URL": services.http.url("/genai/api/prompts"),
        "GENAI_API_TOKEN_URL": idp.issuer + "/token",
        "GENAI_API_CLIENT_ID": "ai-gateway",
        "GENAI_API_CLIENT_SECRET": CLIENTS["ai-gateway"],
        "GENAI_API_SCOPE": "internal",
        "GENAI_API_RESOURCE": RESOURCE,
        "GATEWAY_PUBLIC_URL": "http://127.0.0.1:1",
        "GENAI_SERVICE_IDENTITIES": "client:genai-service",
        "CLOUD_EVENT_SINK": services.sink_url,
    })  # fmt: skip
    env.update(overrides)
    return env


def wait_all(
    client: httpx.Client, ids: list[str], statuses: set[str], timeout: float
) -> dict[str, dict[str, Any]]:
    """Polls until every prompt is in one of ``statuses``; returns them."""
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    while True:
        for prompt_id in [i for i in ids if i not in done]:
            prompt = client.get(f"/api/prompts/{prompt_id}").json()
            if prompt["status"] in statuses:
                done[prompt_id] = prompt
        if len(done) == len(ids):
            return done
        if time.monotonic() > deadline:
            waiting = {
                i: client.get(f"/api/prompts/{i}").json()["status"] for i in ids if i not in done
            }
            raise AssertionError(
                f"{len(waiting)} prompts not done: {dict(list(waiting.items())[:5])}"
            )
        time.sleep(0.2)
