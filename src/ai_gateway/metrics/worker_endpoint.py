"""A worker supervisor's HTTP endpoint: ``/metrics`` (its processes' metrics added up),
``/health`` (liveness) and ``/ready`` (readiness), served from a thread beside the supervisor.

Small and synchronous on purpose: the supervisor runs no event loop, and a probe or a scrape must
be answered even while every worker process is busy or being restarted (ADR 0022)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

from ai_gateway.metrics.access import MetricsAccess, Verdict
from ai_gateway.metrics.exposition import render

logger = logging.getLogger("ai_gateway.worker")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
# Each answer passes a list of its own: wsgiref adds Content-Length to the list it is given.
JSON = ("Content-Type", "application/json")


@dataclass(frozen=True, slots=True)
class WorkerProbes:
    """``alive`` counts the worker processes running now; ``checks`` says, per dependency,
    whether it answers (readiness)."""

    alive: Callable[[], int]
    expected: int
    checks: Callable[[], dict[str, bool]]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes and probes every few seconds would drown the worker's own log."""


class WorkerEndpoint:
    def __init__(
        self,
        probes: WorkerProbes,
        access: MetricsAccess,
        multiprocess_dir: str,
        collectors: Callable[[], Sequence[Collector]],
    ) -> None:
        self._probes = probes
        self._access = access
        self._dir = multiprocess_dir
        self._collectors = collectors
        self._server: WSGIServer | None = None

    def start(self, host: str, port: int) -> bool:
        """Serves on ``host:port`` from a daemon thread; False (logged) when it cannot bind."""
        try:
            self._server = make_server(
                host, port, self, server_class=ThreadingWSGIServer, handler_class=_Quiet
            )
        except OSError as exc:
            logger.error("worker metrics and probes cannot listen on %s:%d: %s", host, port, exc)
            return False
        threading.Thread(target=self._server.serve_forever, daemon=True, name="probes").start()
        logger.info("worker metrics and probes on http://%s:%d", host, port)
        return True

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/health":
            return self._health(start_response)
        if path == "/ready":
            return self._ready(start_response)
        if path == "/metrics":
            return self._metrics(environ, start_response)
        start_response("404 Not Found", [JSON])
        return [b'{"detail": "not found"}']

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        body = {"status": "ok", "processes": self._probes.alive()}
        start_response("200 OK", [JSON])
        return [json.dumps(body).encode()]

    def _ready(self, start_response: StartResponse) -> Iterable[bytes]:
        checks = self._probes.checks()
        checks["processes"] = self._probes.alive() >= self._probes.expected
        ready = all(checks.values())
        start_response("200 OK" if ready else "503 Service Unavailable", [JSON])
        return [json.dumps({"ready": ready, "checks": checks}).encode()]

    def _metrics(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        verdict = self._access.judge(environ.get("REMOTE_ADDR"), environ.get("HTTP_AUTHORIZATION"))
        if verdict is Verdict.UNAUTHENTICATED:
            start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer")])
            return [b""]
        if verdict is Verdict.FORBIDDEN:
            start_response("403 Forbidden", [])
            return [b""]
        body = render(self._collectors(), self._dir)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [body]
