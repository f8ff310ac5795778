"""Caller limits and backlog admission hold across API processes sharing one Redis (ADR 0019)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.deployment import API_KEY, TERMINAL, Deployment
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

KEYS = {
    "mosaic": API_KEY,
    "limited": "limited-key-0123456789abcdef",
    "quick": "quick-key-0123456789abcdef",
    "few": "few-key-0123456789abcdef",
    "thrifty": "thrifty-key-0123456789abcdef",
    "ops": "ops-key-0123456789abcdef",
}
LIMITS = {
    "limited": {"requests": "30/minute"},
    "quick": {"requests": "5/second"},
    "few": {"in_flight": 2},
    "thrifty": {"tokens_per_day": 5},
}


def _env(**more: str) -> dict[str, str]:
    keys = [f"{name}:{key}" for name, key in KEYS.items() if name != "ops"]
    admin = {"name": "ops", "key": KEYS["ops"], "scopes": ["api", "admin"]}
    return {
        "MOSAIC_API_KEYS": json.dumps([*keys, admin]),
        "CALLER_LIMITS": json.dumps(LIMITS),
        **more,
    }


def _create(apis: list[str], caller: str, count: int) -> list[httpx.Response]:
    """``count`` creations at once, spread over the API processes in turn."""

    def one(index: int) -> httpx.Response:
        url = apis[index % len(apis)] + "/api/prompts"
        body = {"content": f"prompt {index}"}
        return httpx.post(url, json=body, headers={"X-API-Key": KEYS[caller]}, timeout=30)

    with ThreadPoolExecutor(max_workers=12) as pool:
        return list(pool.map(one, range(count)))


def wait_settled(api: str, caller: str, location: str) -> None:
    def settled() -> bool:
        prompt = httpx.get(api + location, headers={"X-API-Key": KEYS[caller]}, timeout=10)
        return prompt.json()["status"] in TERMINAL

    wait_until(settled, 60, f"{location} settled")


def _two_apis(deployment: Deployment) -> list[str]:
    """Starts two API processes on the deployment's Redis; their base URLs."""
    deployment.api()
    deployment.api()
    return [url for _, url in deployment.apis]


def test_a_rate_limit_holds_over_two_api_processes_and_spares_other_callers(
    deploy: Callable[..., Deployment],
) -> None:
    deployment = deploy(**_env())
    apis = _two_apis(deployment)
    deployment.worker()

    limited = _create(apis, "limited", 60)
    others = _create(apis, "mosaic", 20)

    statuses = Counter(r.status_code for r in limited)
    assert statuses[201] in {30, 31}, statuses
    assert statuses[201] + statuses[429] == 60
    refused = next(r for r in limited if r.status_code == 429)
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:ai-gateway:problem:rate-limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-policy"] == '"requests";q=30;w=60'
    assert refused.headers["ratelimit"].startswith('"requests";r=0;t=')
    admitted = next(r for r in limited if r.status_code == 201)
    assert admitted.headers["ratelimit"].startswith('"requests";r=')
    assert {r.status_code for r in others} == {201}
    assert "ratelimit" not in others[0].headers


def test_after_its_period_a_rate_limited_caller_creates_again(
    deploy: Callable[..., Deployment],
) -> None:
    deployment = deploy(**_env())
    apis = _two_apis(deployment)

    burst = _create(apis, "quick", 20)
    refused = [r for r in burst if r.status_code == 429]
    assert refused, Counter(r.status_code for r in burst)
    wait_seconds = int(refused[-1].headers["retry-after"])
    wait_until(
        lambda: _create(apis, "quick", 1)[0].status_code == 201,
        wait_seconds + 5,
        "the next period",
    )
    assert wait_seconds <= 1


def test_in_flight_and_budget_limits_refuse_with_their_types_and_recover(
    deploy: Callable[..., Deployment],
) -> None:
    deployment = deploy(**_env())
    apis = _two_apis(deployment)

    few = _create(apis, "few", 3)  # no worker yet: every prompt stays in flight
    assert sorted(r.status_code for r in few) == [201, 201, 429]
    (in_flight,) = (r for r in few if r.status_code == 429)
    assert in_flight.json()["type"] == "urn:ai-gateway:problem:too-many-in-flight"
    assert '"in-flight";r=0' in in_flight.headers["ratelimit"]

    thrifty = _create(apis, "thrifty", 1)[0]
    assert thrifty.status_code == 201
    deployment.worker()  # echo counts 6 tokens for "prompt 0": over the budget
    wait_settled(apis[0], "thrifty", thrifty.headers["location"])
    wait_settled(apis[0], "few", next(r for r in few if r.status_code == 201).headers["location"])

    budget = _create(apis, "thrifty", 1)[0]
    assert budget.json()["type"] == "urn:ai-gateway:problem:token-budget-exhausted"
    assert 0 < int(budget.headers["retry-after"]) <= 86_400
    wait_until(lambda: _create(apis, "few", 1)[0].status_code == 201, 30, "prompts settled")

    raised = httpx.put(
        apis[1] + "/api/admin/callers/thrifty/limits",
        json={"tokens_per_day": 1_000_000},
        headers={"X-API-Key": KEYS["ops"]},
        timeout=10,
    )
    assert raised.status_code == 200
    wait_until(lambda: _create(apis, "thrifty", 1)[0].status_code == 201, 10, "a bigger budget")
    mine = httpx.get(
        apis[0] + "/api/me/limits", headers={"X-API-Key": KEYS["thrifty"]}, timeout=10
    ).json()
    assert mine["limits"]["tokens_per_day"] == 1_000_000
    assert 0 < mine["remaining"]["tokens"] < 1_000_000


def test_a_full_backlog_refuses_creation_until_a_worker_drains_it(
    deploy: Callable[..., Deployment],
) -> None:
    deployment = deploy(**_env(BACKLOG_MAX_PROMPTS="200"))
    apis = _two_apis(deployment)

    answers = _create(apis, "mosaic", 300)

    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 200, 503: 100}, statuses
    full = next(r for r in answers if r.status_code == 503)
    assert full.json()["type"] == "urn:ai-gateway:problem:backlog-full"
    assert int(full.headers["retry-after"]) >= 1
    ready = httpx.get(apis[1] + "/api/app/ready", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["backlog"] == {
        "prompts": 200,
        "max_prompts": 200,
        "refused": {"backlog-full": 100},
    }
    metrics = httpx.get(apis[0] + "/metrics", timeout=10).text
    assert "ai_gateway_prompt_backlog 200.0" in metrics
    assert "ai_gateway_prompts_refused_backlog_full 100.0" in metrics

    deployment.worker()
    wait_until(lambda: _create(apis, "mosaic", 1)[0].status_code == 201, 120, "the backlog drained")
