"""Lifecycle CloudEvents from real processes to a real sink: complete, in order, never lost."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.e2e.deployment import TERMINAL, Deployment, wait_all
from tests.e2e.outside_world import Services
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

FULL_PATH = [
    "received",
    "preparing",
    "data.processed",
    "submitted",
    "response.received",
    "responded",
]


@pytest.fixture
def deployment(deploy: Callable[..., Deployment]) -> Deployment:
    return deploy()


def test_every_transition_arrives_once_and_in_order(
    deployment: Deployment, services: Services
) -> None:
    deployment.api()
    deployment.worker()
    with deployment.client() as client:
        full = client.post(
            "/api/prompts", json={"content": "x", "callback_url": services.http.url("/cb")}
        ).json()["id"]
        cancelled = client.post(
            "/api/prompts", json={"content": "y", "data_url": services.http.url("/data/slow.zip")}
        ).json()["id"]
        client.post(f"/api/prompts/{cancelled}/cancel")
        wait_all(client, [full], {"responded"}, timeout=30)
        wait_until(lambda: len(services.steps_of(full)) == 6, 30, "events of the full path")
        wait_until(lambda: "action" in services.steps_of(cancelled), 30, "cancel events")

    assert services.steps_of(full) == FULL_PATH
    assert services.steps_of(cancelled)[:1] == ["received"]
    # The cancel is a transition and an action (kept in the history with who took it).
    assert services.steps_of(cancelled)[-2:] == ["cancelled", "action"]
    ids = [event_id for *_, event_id in services.events]
    assert len(ids) == len(set(ids))


def test_a_sink_that_is_stopped_for_a_while_misses_nothing(
    deployment: Deployment, services: Services
) -> None:
    deployment.api()
    worker = deployment.worker()
    services.stop_sink()
    with deployment.client() as client:
        ids = [
            client.post("/api/prompts", json={"content": f"p{i}"}).json()["id"] for i in range(20)
        ]
        wait_all(client, ids, TERMINAL, timeout=30)
        wait_until(
            lambda: worker.log.read_text().count("event sink unreachable") >= 3,
            30,
            "the relay failing to connect",
        )
        services.start_sink()
        wait_until(
            lambda: all(services.steps_of(i)[-1:] == ["response.received"] for i in ids),
            60,
            "catch-up",
        )

    for prompt_id in ids:
        assert services.steps_of(prompt_id) == FULL_PATH[:-1]


def test_a_backlog_left_by_stopped_workers_is_sent_after_a_restart(
    deployment: Deployment, services: Services
) -> None:
    deployment.api()
    worker = deployment.worker()
    services.sink_up = False
    with deployment.client() as client:
        ids = [
            client.post("/api/prompts", json={"content": f"p{i}"}).json()["id"] for i in range(10)
        ]
        wait_all(client, ids, TERMINAL, timeout=30)
        worker.stop()  # the gateway's workers go down with events still waiting
        backlog = client.get("/api/app/ready").json()
        services.sink_up = True
        time.sleep(0.5)
        assert services.events == []
        deployment.worker()
        wait_until(lambda: len(services.events) == 10 * len(FULL_PATH[:-1]), 60, "the backlog")

    assert backlog["checks"]["event_outbox"] is True
    for prompt_id in ids:
        assert services.steps_of(prompt_id) == FULL_PATH[:-1]
