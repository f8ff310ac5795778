"""Real HTTP servers on loopback for tests: routes are functions, every hit is recorded."""

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


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Route = Callable[[Hit], Reply]


class RecordingServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hit = Hit(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                server.hits.append(hit)
                route = server.routes.get(self.path.split("?", 1)[0])
                reply = route(hit) if route else Reply(404, b"no such route")
                self.send_response(reply.status)
                headers = {"Content-Length": str(len(reply.body)), **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                for start in range(0, len(reply.body), 1024):
                    if reply.drip_seconds:
                        time.sleep(reply.drip_seconds)
                    try:
                        self.wfile.write(reply.body[start : start + 1024])
                        self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        return

            do_GET = do_POST = do_PUT = _handle  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
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
