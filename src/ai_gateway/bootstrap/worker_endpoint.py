"""The worker supervisor's metrics and probes: where its processes keep their metrics, what
readiness checks, and the endpoint on ``WORKER_METRICS_PORT`` (ADR 0022)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from prometheus_client.multiprocess import mark_process_dead
from redis.exceptions import RedisError

from ai_gateway.application.ports.operations import Measurement
from ai_gateway.bootstrap.storage import redis_probe
from ai_gateway.metrics.access import MetricsAccess
from ai_gateway.metrics.exposition import BuildInfo, Snapshot
from ai_gateway.metrics.worker_endpoint import WorkerEndpoint, WorkerProbes
from ai_gateway.settings import Settings

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
PROBE_TIMEOUT_S = 2.0


def _forget(folder: str, pid: int | None) -> None:
    """A process that ended leaves its counters (they stay in the sums) but no live gauge."""
    if pid is not None:
        mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]


@contextmanager
def worker_endpoint(
    settings: Settings, alive: Callable[[], int]
) -> Iterator[Callable[[int | None], None]]:
    """Entered before the worker processes start: they inherit a fresh folder for their
    metrics (prometheus_client's multiprocess mode), which the endpoint adds up. Yields what to
    call with the pid of a process that ended. ``WORKER_METRICS_PORT`` 0 serves nothing."""
    if settings.worker_metrics_port == 0:
        yield lambda _pid: None
        return
    folder = tempfile.mkdtemp(prefix="ai-gateway-metrics-")
    os.environ[MULTIPROCESS_DIR] = folder
    redis = redis_probe(settings, PROBE_TIMEOUT_S)

    def checks() -> dict[str, bool]:
        try:
            return {"redis": bool(redis.ping())}
        except RedisError:
            return {"redis": False}

    build = BuildInfo(settings.build_revision, component="worker")

    def collectors() -> list[Snapshot | BuildInfo]:
        running = Measurement(
            "ai_gateway_worker_processes", "Worker processes running now.", alive()
        )
        return [build, Snapshot([running])]

    token = settings.metrics_token
    endpoint = WorkerEndpoint(
        WorkerProbes(alive, settings.worker_processes, checks),
        MetricsAccess(token.get_secret_value() if token else None),
        folder,
        collectors,
    )
    endpoint.start(settings.host, settings.worker_metrics_port)
    try:
        yield partial(_forget, folder)
    finally:
        endpoint.stop()
        redis.close()
        os.environ.pop(MULTIPROCESS_DIR, None)
        shutil.rmtree(folder, ignore_errors=True)
