"""Redis loses its primary under load: API and worker processes go on through Sentinel's failover
by themselves, and every prompt acknowledged with 201 is kept, answered and submitted once."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.deployment import Deployment, wait_all
from tests.e2e.outside_world import Services
from tests.redis_ha import MASTER, SentinelGroup
from tests.waiting import SETTLE_SECONDS, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def sentinel_group(tmp_path: Path) -> Iterator[SentinelGroup]:
    group = SentinelGroup(tmp_path / "redis-ha")
    group.start()
    yield group
    group.stop()


class SteadyLoad:
    """Creates a prompt every ``pause`` seconds, each with its own Idempotency-Key, retrying a
    refused or failed creation with the same key until it is acknowledged, as a client should."""

    def __init__(self, client: httpx.Client, pause: float = 0.05) -> None:
        self.client, self.pause = client, pause
        self.acknowledged: dict[str, str] = {}  # Idempotency-Key -> prompt id
        self.refused = 0
        self.unexpected: str | None = None  # a reply no failover explains, raised on exit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(60)
        # Raised here, not in the thread, where it would only end the load and leave the test to
        # time out waiting for prompts.
        assert self.unexpected is None, self.unexpected

    def _run(self) -> None:
        while not self._stop.is_set():
            key = uuid.uuid4().hex
            while True:
                try:
                    reply = self.client.post(
                        "/api/prompts", json={"content": key}, headers={"Idempotency-Key": key}
                    )
                except httpx.TransportError:
                    reply = None
                if reply is not None and reply.status_code == 201:
                    self.acknowledged[key] = reply.json()["id"]
                    break
                if reply is not None and reply.status_code != 503:
                    self.unexpected = f"{reply.status_code} {reply.text}"
                    return
                self.refused += 1
                time.sleep(0.1)
            time.sleep(self.pause)


def test_the_gateway_goes_on_after_the_primary_is_killed_and_keeps_every_acknowledged_prompt(
    sentinel_group: SentinelGroup, deploy: Callable[..., Deployment], services: Services
) -> None:
    # A job is taken over only once idle longer than a failover lasts (its worker cannot
    # heartbeat meanwhile): else a second worker would run a step the first still finishes.
    d = deploy(
        GENAI_PROVIDER="openai", REDIS_SENTINELS=sentinel_group.setting,
        REDIS_SENTINEL_MASTER=MASTER, REDIS_WAIT_REPLICAS="1",
        JOB_CLAIM_IDLE_SECONDS="15", STUCK_AFTER_SECONDS="20",
    )  # fmt: skip
    del d.env["REDIS_URL"]
    d.api()
    d.worker()
    d.worker()
    old_primary = sentinel_group.primary.port
    with d.client() as client, SteadyLoad(client) as load:
        # the workers are busy when the primary goes: mid-step, mid-GenAI call
        wait_until(lambda: len(services.submissions) >= 20, 60, "prompts before the failover")
        before = len(load.acknowledged)
        sentinel_group.kill_primary()
        # Bounded generously: a Sentinel starved of the CPU for 2 s goes into TILT mode and then
        # stays passive for 30 s before it acts.
        wait_until(
            lambda: sentinel_group.primary_port() != old_primary,
            SETTLE_SECONDS,
            f"failover (Sentinel logs: {sentinel_group.workdir})",
        )
        wait_until(lambda: len(load.acknowledged) >= before + 20, 60, "prompts after it")
    with d.client() as client:
        ids = list(load.acknowledged.values())
        done = wait_all(client, ids, {"completed", "faulted"}, timeout=120)

    assert Counter(p["status"] for p in done.values()) == {"completed": len(ids)}
    assert {key: done[i]["content"] for key, i in load.acknowledged.items()} == {
        key: key for key in load.acknowledged
    }
    assert len(set(ids)) == len(ids)
    submitted = Counter(services.submissions)
    assert set(submitted) == set(ids)
    assert max(submitted.values()) == 1
