"""One real `ai-gateway serve` process on its embedded default, for the process tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.servers import answers_ready, free_port
from tests.waiting import STARTUP_SECONDS, wait_until

CLEAN_ENV = {
    k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "MOSAIC_API_KEYS", "APP_ENV"}
}


class Gateway:
    """One `ai-gateway serve` process; stdout and stderr go to a log file."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.log = workdir / f"serve-{self.port}.log"
        self.env = {**CLEAN_ENV, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ai_gateway", "serve", "--port", str(self.port)],
                cwd=self.workdir, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        ready = f"{self.base_url}/api/app/ready"
        wait_until(
            lambda: answers_ready(ready, self.process, self.log),
            STARTUP_SECONDS,
            f"ai-gateway serve (log: {self.log})",
        )

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        process, self.process = self.process, None
        assert process is not None
        process.send_signal(sig)
        return process.wait(20)

    def append_only_text(self) -> str:
        """What the embedded server has written to its append-only files so far."""
        files = (self.workdir / ".ai-gateway" / "redis").glob("**/*.aof")
        return "".join(f.read_text(errors="replace") for f in files)

    def embedded_server_pid(self) -> int:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        (pid,) = [int(p) for p in children.split()]
        return pid

    def api_key(self) -> str:
        return (self.workdir / ".ai-gateway" / "api-key").read_text().strip()

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"X-API-Key": self.api_key()}, timeout=5
        )
