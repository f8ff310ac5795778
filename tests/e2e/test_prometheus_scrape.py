"""A real Prometheus scrapes a running `serve` and a running `worker`: after a few prompts its
query API has the series of each, step latency quantiles included."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.deployment import Deployment, wait_all
from tests.e2e.prometheus_server import PrometheusServer
from tests.waiting import STARTUP_SECONDS, wait_until

pytestmark = pytest.mark.e2e


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], PrometheusServer]]:
    started: list[PrometheusServer] = []

    def start(targets: dict[str, str]) -> PrometheusServer:
        started.append(PrometheusServer(tmp_path, targets).start())
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_prometheus_scrapes_the_api_and_the_worker(
    deploy: Callable[..., Deployment],
    prometheus_for: Callable[[dict[str, str]], PrometheusServer],
) -> None:
    d = deploy()
    api = d.api()
    worker = d.worker()
    wait_until(
        lambda: answers(worker.metrics_url + "/ready"),
        STARTUP_SECONDS,
        f"worker probes ({worker.log})",
    )
    prometheus = prometheus_for({
        "ai-gateway-api": api.removeprefix("http://"),
        "ai-gateway-worker": worker.metrics_url.removeprefix("http://"),
    })  # fmt: skip
    with d.client() as client:
        ids = [
            client.post("/api/prompts", json={"content": f"p{i}"}).json()["id"] for i in range(3)
        ]
        wait_all(client, ids, {"completed"}, 60)

    def has(expr: str) -> bool:
        return bool(prometheus.query(expr))

    finished = 'sum(ai_gateway_prompts_finished_total{job="ai-gateway-worker",status="completed"})'
    wait_until(lambda: has(f"{finished} >= 3"), 30, "the worker's prompts in prometheus")
    wait_until(
        lambda: has(
            'sum(ai_gateway_prompts_created_total{job="ai-gateway-api",caller="mosaic"}) >= 3'
        ),
        30,
        "the API's prompts in prometheus",
    )
    up = {r["metric"]["job"]: r["value"][1] for r in prometheus.query("up")}
    assert up == {"ai-gateway-api": "1", "ai-gateway-worker": "1"}
    (p90,) = prometheus.query(
        "histogram_quantile(0.9, sum by (le) "
        '(ai_gateway_prompt_step_seconds_bucket{job="ai-gateway-worker",step="completed"}))'
    )
    assert 0 < float(p90["value"][1]) < 60
    calls = 'ai_gateway_provider_request_duration_seconds_count{provider="echo",outcome="answered"}'
    assert sum(float(r["value"][1]) for r in prometheus.query(calls)) >= 3
    tokens = prometheus.query(
        'ai_gateway_provider_tokens_total{provider="echo",caller="mosaic",direction="out"}'
    )
    assert sum(float(r["value"][1]) for r in tokens) > 0
    # a submission follows its preparation in the same job (ADR 0032): the preparations queued
    waits = prometheus.query('ai_gateway_job_queue_wait_seconds_count{step="prepare"}')
    assert sum(float(r["value"][1]) for r in waits) >= 3
    routes = {
        r["metric"]["route"]
        for r in prometheus.query(
            'ai_gateway_http_request_duration_seconds_count{job="ai-gateway-api"}'
        )
    }
    assert {"/api/prompts", "/api/prompts/{prompt_id}"} <= routes
    (ready,) = prometheus.query('ai_gateway_dependency_up{dependency="redis"}')
    assert ready["value"][1] == "1"
    (queued,) = prometheus.query("ai_gateway_jobs_queued")
    assert not math.isnan(float(queued["value"][1]))
    assert prometheus.query('ai_gateway_worker_processes{job="ai-gateway-worker"} == 1')
    assert prometheus.query('ai_gateway_build_info{component="worker"}')
