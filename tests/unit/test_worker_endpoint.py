"""The worker supervisor's endpoint: probes open to all, /metrics by token or from loopback."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ai_gateway.application.ports.operations import Measurement
from ai_gateway.metrics.access import MetricsAccess
from ai_gateway.metrics.exposition import BuildInfo, Snapshot
from ai_gateway.metrics.worker_endpoint import WorkerEndpoint, WorkerProbes

TOKEN = "worker-token-0123456789"


def endpoint(
    tmp_path: Path, *, alive: int, redis: bool, token: str | None = None
) -> WorkerEndpoint:
    gauge = Measurement("ai_gateway_worker_processes", "Running.", alive)
    return WorkerEndpoint(
        WorkerProbes(lambda: alive, 2, lambda: {"redis": redis}),
        MetricsAccess(token),
        str(tmp_path),
        lambda: [BuildInfo("r1", "worker"), Snapshot([gauge])],
    )


def call(
    app: WorkerEndpoint, path: str, peer: str = "127.0.0.1", **headers: str
) -> tuple[str, bytes]:
    answer: list[str] = []

    def start_response(status: str, _headers: list[tuple[str, str]]) -> Any:
        answer.append(status)

    environ = {"PATH_INFO": path, "REMOTE_ADDR": peer, **headers}
    body: Iterable[bytes] = app(environ, start_response)
    return answer[0], b"".join(body)


def test_probes_say_whether_every_process_runs_and_redis_answers(tmp_path: Path) -> None:
    healthy = endpoint(tmp_path, alive=2, redis=True)
    one_down = endpoint(tmp_path, alive=1, redis=True)
    no_redis = endpoint(tmp_path, alive=2, redis=False)

    assert call(healthy, "/ready", peer="10.0.0.9")[0] == "200 OK"
    status, body = call(one_down, "/ready")
    assert status.startswith("503")
    assert json.loads(body) == {"ready": False, "checks": {"redis": True, "processes": False}}
    assert json.loads(call(no_redis, "/ready")[1])["checks"]["redis"] is False
    assert call(one_down, "/health", peer="10.0.0.9") == (
        "200 OK",
        b'{"status": "ok", "processes": 1}',
    )
    assert call(healthy, "/other")[0].startswith("404")


def test_metrics_need_loopback_or_the_token(tmp_path: Path) -> None:
    open_locally = endpoint(tmp_path, alive=2, redis=True)
    guarded = endpoint(tmp_path, alive=2, redis=True, token=TOKEN)

    status, body = call(open_locally, "/metrics")
    assert status == "200 OK"
    assert b"ai_gateway_worker_processes 2.0" in body
    assert b'component="worker"' in body
    assert call(open_locally, "/metrics", peer="::1")[0] == "200 OK"
    assert call(open_locally, "/metrics", peer="10.0.0.9")[0].startswith("403")
    assert call(guarded, "/metrics")[0].startswith("401")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    assert call(guarded, "/metrics", peer="10.0.0.9", **bearer)[0] == "200 OK"
