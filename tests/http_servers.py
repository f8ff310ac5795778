"""Real HTTP servers on loopback for tests: routes are functions, every hit is recorded.

A reply can also play a hostile peer: one that stalls before answering (``stall_seconds``), one
that trickles (``drip_seconds``) or never stops sending (``endless``), or one that answers absurd
headers (any ``headers``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip_seconds: float = 0.0  # pause before each 1 KiB, to play a slow server
    stall_seconds: float = 0.0  # pause before the status line
    endless: bool = False  # the body never ends (1 KiB every drip_seconds, chunked)


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Route = Callable[[Hit], Reply]


def redirect_to(location: str, status: int = 302) -> Reply:
    return Reply(status, headers={"Location": location})


def authorized(hit: Hit) -> bool:
    """Whether the request carried an Authorization header, whatever its case."""
    return any(name.lower() == "authorization" for name in hit.headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        hit = Hit(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
        owner = self.server.owner
        owner.hits.append(hit)
        route = owner.routes.get(self.path.split("?", 1)[0])
        reply = route(hit) if route else Reply(404, b"no such route")
        if reply.stall_seconds:
            time.sleep(reply.stall_seconds)
        try:
            if reply.endless:
                self._send_endless(reply)
            else:
                self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            return

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in {"Content-Length": str(len(reply.body)), **reply.headers}.items():
            self.send_header(name, value)
        self.end_headers()
        for start in range(0, len(reply.body), 1024):
            if reply.drip_seconds:
                time.sleep(reply.drip_seconds)
            self.wfile.write(reply.body[start : start + 1024])
            self.wfile.flush()

    def _send_endless(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in {"Transfer-Encoding": "chunked", **reply.headers}.items():
            self.send_header(name, value)
        self.end_headers()
        chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
        while not self.server.owner.stopping.is_set():
            self.wfile.write(chunk)
            self.wfile.flush()
            time.sleep(reply.drip_seconds)

    do_GET = do_POST = do_PUT = _handle  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int], owner: RecordingServer) -> None:
        super().__init__(address, _Handler)
        self.owner = owner


class RecordingServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.stopping = threading.Event()
        self.hits: list[Hit] = []
        self._server = _Server((host, port), self)
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._stopped = False

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def hits_on(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path.split("?", 1)[0] == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@contextmanager
def recording_server(host: str = "127.0.0.1") -> Iterator[RecordingServer]:
    server = RecordingServer(host)
    server.start()
    try:
        yield server
    finally:
        server.stop()
