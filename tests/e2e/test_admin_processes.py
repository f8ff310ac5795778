"""The admin API with real serve and worker processes: an operator retries a prompt its GenAI
provider refused, and delivers again a callback that dead-lettered while its receiver was down."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.e2e.deployment import Deployment, wait_all
from tests.e2e.outside_world import Services
from tests.http_servers import Reply
from tests.idp_server import IdpServer
from tests.waiting import wait_until

COMPLETIONS = "/v1/chat/completions"


def _operator(d: Deployment, idp: IdpServer) -> httpx.Client:
    token = idp.token(scope="api admin")
    return httpx.Client(
        base_url=d.apis[0][1], headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_a_prompt_its_provider_refused_is_retried_by_an_operator_and_answered(
    deploy: Callable[..., Deployment], services: Services, idp: IdpServer
) -> None:
    d = deploy(GENAI_PROVIDER="openai", CALLBACK_RETRY_SCHEDULE="0.2,0.2")
    d.api()
    d.worker()
    answering = services.http.routes[COMPLETIONS]
    services.http.routes[COMPLETIONS] = lambda _: Reply(400, b'{"error": "refused"}')
    with d.client() as client, _operator(d, idp) as operator:
        body = {"content": "x", "callback_url": services.http.url("/cb")}
        prompt_id = client.post("/api/prompts", json=body).json()["id"]
        faulted = wait_all(client, [prompt_id], {"faulted"}, timeout=60)[prompt_id]
        wait_until(lambda: len(services.callbacks) == 1, 30, "the fault's callback")
        services.http.routes[COMPLETIONS] = answering
        retried = operator.post(f"/api/admin/prompts/{prompt_id}/retry")
        done = wait_all(client, [prompt_id], {"responded"}, timeout=60)[prompt_id]

    assert faulted["fault"]["code"]
    assert retried.status_code == 202
    assert done["response"]["content"].startswith("openai says: ")
    assert [(a["name"], a["actor"]) for a in done["history"]] == [("retry", "jwt:ai-gateway")]
    assert [s["status"] for s in done["timeline"]][-3:] == ["submitted", "completed", "responded"]
    assert services.webhook_ids() == [f"msg_{prompt_id}", f"msg_{prompt_id}_r1"]


def test_an_operator_requeues_a_dead_lettered_callback_once_its_receiver_is_up(
    deploy: Callable[..., Deployment], services: Services, idp: IdpServer
) -> None:
    d = deploy(CALLBACK_RETRY_SCHEDULE="0.2,0.2")
    d.api()
    d.worker()
    services.callbacks_up = False
    with d.client() as client, _operator(d, idp) as operator:
        body = {"content": "x", "callback_url": services.http.url("/cb")}
        prompt_id = client.post("/api/prompts", json=body).json()["id"]
        wait_until(
            lambda: (
                [x["id"] for x in operator.get("/api/admin/dead-letters").json()["deliveries"]]
                == [f"delivery:{prompt_id}"]
            ),
            30,
            "the dead letter",
        )
        services.callbacks_up = True
        requeued = operator.post(
            "/api/admin/dead-letters/requeue", json={"ids": [f"delivery:{prompt_id}"]}
        )
        done = wait_all(client, [prompt_id], {"responded"}, timeout=30)[prompt_id]
        left = operator.get("/api/admin/dead-letters").json()["deliveries"]

    assert requeued.json()["results"][0]["outcome"] == "requeued"
    assert [a["status"] for a in done["callback_attempts"]] == ["503", "503", "503", "204"]
    assert [(a["name"], a["actor"]) for a in done["history"]] == [("redeliver", "jwt:ai-gateway")]
    assert left == []
