"""Every failure settles, with `ai-gateway serve` and `ai-gateway worker` processes.

The data host, the GenAI service and the callback receivers are real servers on loopback that stall,
trickle, never stop sending, redirect elsewhere or answer absurd headers. Deadlines and schedules
are short settings, so each prompt settles within seconds: with its code, after a bounded number of
calls, with no job left behind, and without a traceback in the worker's log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from redis import Redis

from tests.e2e.deployment import TERMINAL, Deployment, wait_all
from tests.e2e.outside_world import Services
from tests.http_servers import Hit, Reply, Route, recording_server
from tests.servers import RedisServer
from tests.waiting import SETTLE_SECONDS, wait_until

pytestmark = pytest.mark.e2e

SHORT_STEPS = {
    "STEP_MAX_ATTEMPTS": "2",
    "RETRY_BASE_SECONDS": "0.2",
    "RETRY_MAX_SECONDS": "0.5",
    # hostile prompts settle by their own deadlines, not by the reconciler's
    "STUCK_AFTER_SECONDS": "30",
}
ABSURD_RETRY_AFTER = ["9" * 400, "-30", "NaN", "\xb2"]
NOT_JSON_ANSWERS = [
    b"<html>busy</html>",
    b"[" * 50_000 + b"]" * 50_000,
]


def submit(client: httpx.Client, **body: Any) -> str:
    response = client.post("/api/prompts", json=body)
    assert response.status_code == 201, response.text
    prompt_id: str = response.json()["id"]
    return prompt_id


def outcome(prompt: dict[str, Any]) -> tuple[str, str | None]:
    return prompt["status"], (prompt["fault"] or {}).get("code")


def settled_at(prompt: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(prompt["updated_at"])


def assert_nothing_left_behind(d: Deployment, redis_server: RedisServer) -> None:
    """No job waits, runs or was buried, and no process crashed or logged a defect."""
    prefix = d.env["REDIS_KEY_PREFIX"]
    with Redis.from_url(redis_server.url) as redis:
        assert (redis.xlen(f"{prefix}:jobs"), redis.zcard(f"{prefix}:jobs:due")) == (0, 0)
        assert redis.exists(f"{prefix}:jobs:dead") == 0
    for process in [*d.workers, *(api for api, _ in d.apis)]:
        assert process.process is not None
        assert process.process.poll() is None, f"{process.log} exited"
        log = process.log.read_text(errors="replace")
        assert "Traceback" not in log, log
        assert "internal_error" not in log, log


def test_a_stalling_or_trickling_data_host_faults_within_its_deadline_while_others_complete(
    deploy: Callable[..., Deployment], services: Services, redis_server: RedisServer
) -> None:
    services.http.routes["/data/stall"] = lambda _: Reply(body=b"late", stall_seconds=20)
    services.http.routes["/data/trickle"] = lambda _: Reply(endless=True, drip_seconds=0.3)
    d = deploy(DOWNLOAD_TIMEOUT_SECONDS="1", DOWNLOAD_TOTAL_SECONDS="2", **SHORT_STEPS)
    d.api()
    d.worker()
    with d.client() as client:
        hostile = [
            submit(client, content="x", data_url=services.http.url(f"/data/{path}"))
            for path in ("stall", "trickle")
        ]
        healthy = submit(client, content="y", data_url=services.http.url("/data/item.zip"))
        done = wait_all(client, [*hostile, healthy], TERMINAL, timeout=SETTLE_SECONDS)

    assert [outcome(done[i]) for i in hostile] == [("faulted", "timeout")] * 2
    assert all("gave up after 2 attempts" in done[i]["fault"]["detail"] for i in hostile)
    assert outcome(done[healthy]) == ("completed", None)
    assert settled_at(done[healthy]) < min(settled_at(done[i]) for i in hostile)
    assert [len(services.http.hits_on(f"/data/{p}")) for p in ("stall", "trickle")] == [2, 2]
    assert_nothing_left_behind(d, redis_server)


def genai_peer(cases: dict[str, Reply]) -> Callable[[Hit], Reply]:
    """An OpenAI-compatible service that plays the case its prompt names, and answers others."""

    def answer(hit: Hit) -> Reply:
        content = json.loads(hit.body)["messages"][0]["content"]
        for marker, reply in cases.items():
            if marker in content:
                return reply
        message = {"role": "assistant", "content": "fine"}
        return Reply(body=json.dumps({"choices": [{"message": message}]}).encode())

    return answer


def test_a_hostile_genai_service_settles_each_prompt_after_bounded_calls(
    deploy: Callable[..., Deployment], services: Services, redis_server: RedisServer
) -> None:
    cases = {
        f"busy-{i}": Reply(429, headers={"Retry-After": value})
        for i, value in enumerate(ABSURD_RETRY_AFTER)
    }
    cases |= {
        f"odd-json-{i}": Reply(body=body, headers={"Content-Type": "application/json"})
        for i, body in enumerate(NOT_JSON_ANSWERS)
    }
    cases["endless"] = Reply(endless=True, drip_seconds=0.2)
    services.http.routes["/v1/chat/completions"] = genai_peer(cases)
    d = deploy(GENAI_PROVIDER="openai", GENAI_TIMEOUT_SECONDS="1", **SHORT_STEPS)
    d.api()
    d.worker()
    with d.client() as client:
        ids = {marker: submit(client, content=f"case {marker}") for marker in cases}
        healthy = submit(client, content="an ordinary prompt")
        done = wait_all(client, [*ids.values(), healthy], TERMINAL, timeout=SETTLE_SECONDS)

    settled = {marker: outcome(done[prompt_id]) for marker, prompt_id in ids.items()}
    assert settled == {
        **{f"busy-{i}": ("faulted", "genai_unavailable") for i in range(len(ABSURD_RETRY_AFTER))},
        **{
            f"odd-json-{i}": ("faulted", "genai_invalid_answer")
            for i in range(len(NOT_JSON_ANSWERS))
        },
        "endless": ("faulted", "genai_unavailable"),
    }
    calls = dict.fromkeys(cases, 0)
    for hit in services.http.hits_on("/v1/chat/completions"):
        content = json.loads(hit.body)["messages"][0]["content"]
        calls.update({m: calls[m] + 1 for m in cases if m in content})
    assert calls == {m: 1 if "json" in m else 2 for m in cases}
    assert outcome(done[healthy]) == ("completed", None)
    assert_nothing_left_behind(d, redis_server)


def always(reply: Reply) -> Route:
    return lambda _: reply


def test_hostile_callback_receivers_end_dead_lettered_and_visible(
    deploy: Callable[..., Deployment], services: Services, redis_server: RedisServer
) -> None:
    with recording_server() as elsewhere:
        elsewhere.routes["/cb"] = lambda _: Reply(204)
        receivers = {
            "/cb/stall": (Reply(204, stall_seconds=20), "timeout"),
            "/cb/trickle": (Reply(endless=True, drip_seconds=0.2), "timeout"),
            "/cb/elsewhere": (Reply(307, headers={"Location": elsewhere.url("/cb")}), "307"),
            "/cb/bad-length": (Reply(headers={"Content-Length": "-1"}), "connection_failed"),
            **{
                f"/cb/busy-{i}": (Reply(503, headers={"Retry-After": value}), "503")
                for i, value in enumerate(ABSURD_RETRY_AFTER[1:])
            },
        }
        for path, (reply, _) in receivers.items():
            services.http.routes[path] = always(reply)
        d = deploy(CALLBACK_TIMEOUT_SECONDS="1", CALLBACK_RETRY_SCHEDULE="0.2,0.2", **SHORT_STEPS)
        d.api()
        d.worker()
        with d.client() as client:
            ids = {
                submit(client, content="x", callback_url=services.http.url(path)): path
                for path in receivers
            }

            def dead_lettered() -> dict[str, dict[str, Any]]:
                prompts = {i: client.get(f"/api/prompts/{i}").json() for i in ids}
                return {
                    i: p for i, p in prompts.items()
                    if (p["delivery"] or {}).get("state") == "dead_lettered"
                }  # fmt: skip

            wait_until(lambda: len(dead_lettered()) == len(ids), SETTLE_SECONDS, "dead letters")
            done = dead_lettered()

        assert elsewhere.hits == []
    deliveries = {
        ids[i]: (p["status"], p["delivery"]["attempts"], p["delivery"]["last_status"])
        for i, p in done.items()
    }
    assert deliveries == {path: ("completed", 3, code) for path, (_, code) in receivers.items()}
    assert {p: len(services.http.hits_on(p)) for p in receivers} == dict.fromkeys(receivers, 3)
    assert_nothing_left_behind(d, redis_server)
