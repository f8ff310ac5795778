"""One delivery chain per prompt, through real `serve` and `worker` processes."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest
import redis

from ai_gateway.integration.redis_keys import RedisKeys
from tests.e2e.deployment import Deployment, wait_all
from tests.e2e.outside_world import Services
from tests.http_servers import Reply
from tests.servers import RedisServer
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def deployment(deploy: Callable[..., Deployment]) -> Deployment:
    return deploy(CALLBACK_RETRY_SCHEDULE="0.2,0.2")


@pytest.fixture
def store(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


def queue_empty(store: redis.Redis, keys: RedisKeys) -> bool:
    """No job queued, delayed or running: no further attempt can be made."""
    return store.xlen(keys.jobs) == 0 and store.zcard(keys.jobs_due) == 0


def test_concurrent_redeliveries_make_one_delivery_chain(
    deployment: Deployment, services: Services, store: redis.Redis
) -> None:
    url = deployment.api()
    deployment.worker()
    keys = RedisKeys(deployment.env["REDIS_KEY_PREFIX"])
    services.callbacks_up = False
    with deployment.client() as client:
        prompt_id = client.post(
            "/api/prompts", json={"content": "x", "callback_url": services.http.url("/cb")}
        ).json()["id"]
        wait_until(lambda: _delivery(client, prompt_id).get("state") == "dead_lettered", 30,
                   "dead letter")  # fmt: skip
        refused = len(services.http.hits_on("/cb"))
        receive = services.http.routes["/cb"]
        services.http.routes["/cb"] = lambda hit: replace(receive(hit), stall_seconds=1.0)
        services.callbacks_up = True

        def redeliver(_: int) -> int:
            with httpx.Client(base_url=url, headers=client.headers, timeout=10) as own:
                return own.post(f"/api/prompts/{prompt_id}/callback/redeliver").status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(redeliver, range(12)))
        done = wait_all(client, [prompt_id], {"responded"}, timeout=30)
        wait_until(lambda: queue_empty(store, keys), 30, "every job worked off")

    assert statuses == [202] * 12
    assert done[prompt_id]["delivery"]["attempts"] == 1
    assert len(services.http.hits_on("/cb")) == refused + 1
    assert services.webhook_ids() == [f"msg_{prompt_id}"]


def test_a_delivery_whose_job_was_lost_is_made_by_the_reconciler(
    deployment: Deployment, services: Services, store: redis.Redis
) -> None:
    deployment.api()
    worker = deployment.worker()
    keys = RedisKeys(deployment.env["REDIS_KEY_PREFIX"])
    receive = services.http.routes["/cb"]
    services.http.routes["/cb"] = lambda _: Reply(503, stall_seconds=20)
    with deployment.client() as client:
        prompt_id = client.post(
            "/api/prompts", json={"content": "x", "callback_url": services.http.url("/cb")}
        ).json()["id"]
        wait_until(lambda: bool(services.http.hits_on("/cb")), 30, "the first attempt under way")
        worker.stop(signal.SIGKILL)  # the worker dies in the attempt, and its job is lost
        store.xtrim(keys.jobs, maxlen=0)
        services.http.routes["/cb"] = receive
        deployment.worker()
        done = wait_all(client, [prompt_id], {"responded"}, timeout=60)

    assert done[prompt_id]["delivery"]["attempts"] == 1
    assert len(services.http.hits_on("/cb")) == 2
    assert services.webhook_ids() == [f"msg_{prompt_id}"]


def _delivery(client: httpx.Client, prompt_id: str) -> dict[str, object]:
    delivery: dict[str, object] = (
        client.get(f"/api/prompts/{prompt_id}").json().get("delivery") or {}
    )
    return delivery
