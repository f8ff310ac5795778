"""The whole pipeline through `ai-gateway serve` and `ai-gateway worker` processes."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable

import pytest
from miniopy_async.api import Minio

from tests.e2e.deployment import TERMINAL, Deployment, wait_all
from tests.e2e.outside_world import Services
from tests.servers import S3_ACCESS_KEY, S3_SECRET_KEY, SeaweedServer
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


async def object_keys(s3: SeaweedServer, bucket: str, prefix: str) -> list[str]:
    async with Minio(
        s3.endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, secure=False, region="us-east-1"
    ) as client:
        return sorted(
            [
                o.object_name
                async for o in client.list_objects(bucket, prefix=prefix, recursive=True)
            ]
        )


@pytest.mark.parametrize("provider", ["echo", "openai", "genai-api"])
async def test_each_provider_answers_and_the_client_is_called_back(
    deploy: Callable[..., Deployment], services: Services, s3_server: SeaweedServer, provider: str
) -> None:
    d = deploy(GENAI_PROVIDER=provider)
    d.api()
    d.worker()
    with d.client() as client:
        full = client.post("/api/prompts/item", json={
            "itemId": "64b7f0c2a1b2c3d4e5f60718", "itemUrl": services.http.url("/data/item.zip"),
            "callbackUrl": services.http.url("/cb"), "requestId": "r-1",
        }).json()["id"]  # fmt: skip
        bare = client.post("/api/prompts", json={"content": "Just answer."}).json()["id"]
        done = wait_all(client, [full], {"responded", "faulted"}, timeout=60)
        done |= wait_all(client, [bare], {"completed", "faulted"}, timeout=60)

    assert done[full]["status"] == "responded", done[full]
    assert done[bare]["status"] == "completed", done[bare]
    expected = {"echo": "[echo] ", "openai": "openai says: ", "genai-api": "genai-api says: "}[
        provider
    ]
    assert done[full]["response"]["content"].startswith(expected)
    assert done[full]["delivery"]["state"] == "delivered"
    keys = await object_keys(s3_server, d.env["S3_BUCKET"], f"prompts/{full}/")
    assert keys == [
        f"prompts/{full}/data/files/item.json",
        f"prompts/{full}/data/files/media/figure.png",
        f"prompts/{full}/data/original",
        f"prompts/{full}/response.json",
    ]
    (callback,) = [c for c in services.callbacks if c["subject"] == full]
    assert callback["type"] == "ai-gateway.prompt.response.v1"
    assert callback["data"]["response"]["sha256"] == done[full]["response"]["sha256"]
    assert services.bad_signatures == 0
    if provider == "genai-api":
        assert done[full]["response"]["metadata"] == {"links": 3}


async def test_unsafe_data_and_refused_urls_fault_with_a_clear_code(
    deploy: Callable[..., Deployment], services: Services
) -> None:
    d = deploy(EGRESS_ALLOW_CIDRS="127.0.0.1/32", ZIP_MAX_ENTRIES="1000")
    d.api()
    d.worker()
    port = services.http.port
    cases = {
        "/data/escape.zip": "zip_path_escape",
        "/data/bomb.zip": "zip_bomb",
        "/data/link.zip": "zip_link",
        "/data/many.zip": "zip_too_many_entries",
        "/data/to-private": "url_refused",
        "/data/to-other-loopback": "url_refused",
        f"http://127.0.0.2:{port}/data/item.zip": "url_refused",
        f"http://[::1]:{port}/data/item.zip": "url_refused",
        "http://169.254.169.254/latest/meta-data/": "url_refused",
        "http://10.11.12.13/data.zip": "url_refused",
    }
    with d.client() as client:
        ids = {}
        for url in cases:
            full = services.http.url(url) if url.startswith("/") else url
            ids[
                client.post("/api/prompts", json={"content": "x", "data_url": full}).json()["id"]
            ] = url
        done = wait_all(client, list(ids), TERMINAL, timeout=60)

    outcome = {ids[i]: (p["status"], (p["fault"] or {}).get("code")) for i, p in done.items()}
    assert outcome == {url: ("faulted", code) for url, code in cases.items()}
    assert all(p["fault"]["detail"] for p in done.values())
    assert services.http.hits_on("/data/item.zip") == []


def test_with_default_settings_loopback_data_urls_are_refused(
    deploy: Callable[..., Deployment], services: Services
) -> None:
    d = deploy(EGRESS_ALLOW_CIDRS="")
    d.api()
    d.worker()
    port = services.http.port
    urls = [
        services.http.url("/data/item.zip"),
        f"http://localhost:{port}/data/item.zip",
        f"http://[::1]:{port}/data/item.zip",
        services.http.url("/data/to-private"),
    ]
    with d.client() as client:
        ids = [
            client.post("/api/prompts", json={"content": "x", "data_url": u}).json()["id"]
            for u in urls
        ]
        done = wait_all(client, ids, TERMINAL, timeout=30)
    assert [done[i]["fault"]["code"] for i in ids] == ["url_refused"] * len(urls)
    assert [h for h in services.http.hits if h.path.startswith("/data")] == []


def test_a_callback_receiver_that_is_down_for_a_while_gets_the_result_once(
    deploy: Callable[..., Deployment], services: Services
) -> None:
    d = deploy(CALLBACK_RETRY_SCHEDULE="0.5,1,1,1,1,1")
    d.api()
    d.worker()
    services.callbacks_up = False
    with d.client() as client:
        ids = [
            client.post(
                "/api/prompts", json={"content": f"p{i}", "callback_url": services.http.url("/cb")}
            ).json()["id"]
            for i in range(5)
        ]
        wait_until(lambda: len(services.http.hits_on("/cb")) >= 10, 30, "failed attempts")
        services.callbacks_up = True
        done = wait_all(client, ids, {"responded"}, timeout=60)

    assert sorted(services.webhook_ids()) == sorted(f"msg_{i}" for i in ids)
    assert all(p["delivery"]["attempts"] >= 2 for p in done.values())


def test_an_always_failing_receiver_ends_dead_lettered_and_can_be_redelivered(
    deploy: Callable[..., Deployment], services: Services
) -> None:
    d = deploy(CALLBACK_RETRY_SCHEDULE="0.2,0.2")
    d.api()
    d.worker()
    services.callbacks_up = False
    with d.client() as client:
        prompt_id = client.post(
            "/api/prompts", json={"content": "x", "callback_url": services.http.url("/cb")}
        ).json()["id"]
        wait_until(
            lambda: (
                (client.get(f"/api/prompts/{prompt_id}").json().get("delivery") or {}).get("state")
                == "dead_lettered"
            ),
            30,
            "dead letter",
        )
        dead = client.get(f"/api/prompts/{prompt_id}").json()
        services.callbacks_up = True
        assert client.post(f"/api/prompts/{prompt_id}/callback/redeliver").status_code == 202
        done = wait_all(client, [prompt_id], {"responded"}, timeout=30)

    assert (dead["status"], dead["delivery"]["attempts"], dead["delivery"]["last_status"]) == (
        "completed",
        3,
        "503",
    )
    assert done[prompt_id]["delivery"]["state"] == "delivered"
    assert services.webhook_ids() == [f"msg_{prompt_id}"]


def more_calls_than(services: Services, calls: int) -> bool:
    return len(services.submissions) > calls


def test_killed_workers_never_lose_a_prompt(
    deploy: Callable[..., Deployment], services: Services
) -> None:
    d = deploy(GENAI_PROVIDER="openai")
    services.genai_delay = 0.3
    d.api()
    for _ in range(2):
        d.worker()
    with d.client() as client:
        ids = []
        for i in range(100):
            body = {"content": f"p{i}"}
            if i % 4 == 0:
                body["data_url"] = services.http.url("/data/slow.zip")
            ids.append(client.post("/api/prompts", json=body).json()["id"])
        kills = 0
        while kills < 6 and len(set(services.submissions)) < len(ids):
            # each kill comes while the workers are busy: mid-download, mid-GenAI call
            wait_until(functools.partial(more_calls_than, services, len(services.submissions)),
                       60, "GenAI calls")  # fmt: skip
            d.kill_and_replace_worker(kills % len(d.workers))
            kills += 1
        done = wait_all(client, ids, TERMINAL, timeout=120)

    assert kills >= 3
    assert Counter(p["status"] for p in done.values()) == {"completed": 100}
    assert set(services.submissions) == {done[i]["id"] for i in ids}


def test_two_apis_and_two_workers_share_the_work_and_submit_each_prompt_once(
    deploy: Callable[..., Deployment], services: Services
) -> None:
    d = deploy(GENAI_PROVIDER="openai", WORKER_CONCURRENCY="16")
    d.api()
    d.api()
    d.worker()
    d.worker()
    with d.client(0) as first, d.client(1) as second:
        apis = [second, first]
        ids = [
            apis[i % 2].post("/api/prompts", json={"content": f"p{i}"}).json()["id"]
            for i in range(500)
        ]
        done = wait_all(first, ids, TERMINAL, timeout=180)

    assert Counter(p["status"] for p in done.values()) == {"completed": 500}
    keys = Counter(services.submissions)
    assert set(keys) == set(ids)
    assert len(keys) == 500
