"""Provider pacing through real `serve` and `worker` processes sharing one Redis: the limits hold
for the workers together, a provider's Retry-After pauses every worker, and callers share a
paced provider fairly."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx
import pytest
from redis import Redis

from tests.e2e.deployment import API_KEY, TERMINAL, Deployment, wait_all
from tests.e2e.outside_world import Services
from tests.http_servers import Hit, Reply
from tests.servers import RedisServer
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

PACED = json.dumps({"openai": {"requests": "120/minute"}})
OTHER_KEY = "e2e-other-key-0123456789abcdef"


class RateLimitedCompletions:
    """An OpenAI-compatible endpoint allowing ``per_second`` requests a second, as a token
    bucket of that size (a refused request takes no token): it answers 429 above that, and,
    once, 429 with ``Retry-After``."""

    def __init__(self, per_second: int, retry_after_once: str | None = None) -> None:
        self.per_second = per_second
        self.retry_after_once = retry_after_once
        self.arrivals: list[float] = []
        self.refused = 0
        self._tokens = float(per_second)
        self._filled_at = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self, hit: Hit) -> Reply:
        with self._lock:
            now = time.monotonic()
            self.arrivals.append(now)
            elapsed, self._filled_at = now - self._filled_at, now
            self._tokens = min(self.per_second, self._tokens + elapsed * self.per_second)
            if self.retry_after_once is not None:
                self.refused += 1
                seconds, self.retry_after_once = self.retry_after_once, None
                return Reply(429, headers={"Retry-After": seconds})
            if self._tokens < 1:
                self.refused += 1
                return Reply(429, b'{"error": {"code": "rate_limit_exceeded"}}')
            self._tokens -= 1
        prompt = json.loads(hit.body)["messages"][0]["content"]
        message = {"role": "assistant", "content": f"paced: {prompt}"}
        body = {"model": "fake", "usage": {"total_tokens": 3}, "choices": [{"message": message}]}
        return Reply(body=json.dumps(body).encode())

    def busiest_second(self) -> int:
        """The most requests that arrived within one second of each other."""
        times = sorted(self.arrivals)
        return max((sum(1 for t in times if s <= t < s + 1.0) for s in times), default=0)


def create(client: httpx.Client, count: int, label: str) -> list[str]:
    return [
        client.post("/api/prompts", json={"content": f"{label}{i}"}).json()["id"]
        for i in range(count)
    ]


def test_workers_together_keep_to_the_limit_and_every_prompt_completes(
    deploy: Callable[..., Deployment], services: Services
) -> None:
    provider = RateLimitedCompletions(per_second=2)
    services.http.routes["/v1/chat/completions"] = provider
    d = deploy(GENAI_PROVIDER="openai", PROVIDER_LIMITS=PACED)
    d.api()
    d.worker()
    d.worker()
    with d.client() as client:
        ids = create(client, 100, "p")
        wait_until(
            lambda: client.get(f"/api/prompts/{ids[-1]}").json()["waiting_for"] == "provider_quota",
            60,
            "the last prompt waiting for the provider's quota",
        )
        waiting = client.get(f"/api/prompts/{ids[-1]}").json()
        done = wait_all(client, ids, TERMINAL, timeout=150)

    assert waiting["status"] == "prepared"
    assert waiting["estimated_wait_seconds"] > 0
    assert Counter(p["status"] for p in done.values()) == {"completed": 100}
    assert {p["provider"] for p in done.values()} == {"openai"}
    assert {p["waiting_for"] for p in done.values()} == {None}
    assert provider.refused <= 2
    assert provider.busiest_second() <= 3


def test_a_retry_after_pauses_every_worker(
    deploy: Callable[..., Deployment], services: Services, redis_server: RedisServer
) -> None:
    provider = RateLimitedCompletions(per_second=100, retry_after_once="5")
    services.http.routes["/v1/chat/completions"] = provider
    d = deploy(GENAI_PROVIDER="openai", PROVIDER_LIMITS=PACED)
    d.api()
    d.worker()
    d.worker()
    paused = f"{d.env['REDIS_KEY_PREFIX']}:pace:openai:paused"
    with d.client() as client, Redis.from_url(redis_server.url) as redis:
        ids = create(client, 1, "p")
        # The others are created once the pause is taken: a call already on its way when the
        # refusal came back is not one the pause can hold.
        wait_until(lambda: redis.exists(paused) == 1, 60, "the provider paused")
        ids += create(client, 7, "q")
        done = wait_all(client, ids, TERMINAL, timeout=60)

    assert Counter(p["status"] for p in done.values()) == {"completed": 8}
    first, *later = provider.arrivals
    assert provider.refused == 1
    assert len(later) == 8
    assert min(later) - first >= 4.9


def completed_of(client: httpx.Client) -> dict[str, datetime]:
    """When each of the caller's completed prompts completed."""
    times: dict[str, datetime] = {}
    cursor = None
    while True:
        params: dict[str, str | int] = {"status": "completed", "limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/prompts", params=params).json()
        times |= {p["id"]: datetime.fromisoformat(p["updated_at"]) for p in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return times


def create_batch(client: httpx.Client, count: int, label: str) -> list[str]:
    body = {"content": label, "priority": "batch"}
    return [client.post("/api/prompts", json=body).json()["id"] for _ in range(count)]


def test_callers_share_a_paced_provider_and_interactive_prompts_go_first(
    deploy: Callable[..., Deployment], services: Services
) -> None:
    d = deploy(
        GENAI_PROVIDER="openai",
        PROVIDER_LIMITS=json.dumps({"openai": {"requests": "5/second"}}),
        MOSAIC_API_KEYS=f"mosaic:{API_KEY},other:{OTHER_KEY}",
    )
    d.api()
    d.api()
    d.worker()
    d.worker()
    with d.client(0) as a, d.client(1) as a2, d.client(1) as b:
        b.headers["X-API-Key"] = OTHER_KEY
        with ThreadPoolExecutor(8) as pool:
            batches = pool.map(lambda i: create_batch([a, a2][i % 2], 25, f"a{i}"), range(12))
            assert sum(len(batch) for batch in batches) == 300
        others = create(b, 5, "b")
        urgent = a.post("/api/prompts", json={"content": "now", "priority": "interactive"})
        done = wait_all(b, others, TERMINAL, timeout=60)
        done |= wait_all(a, [urgent.json()["id"]], TERMINAL, timeout=60)
        wait_until(lambda: len(completed_of(a)) >= 61, 60, "60 of the batch completed")
        finished = completed_of(a)

    assert Counter(p["status"] for p in done.values()) == {"completed": 6}
    batch = sorted(at for prompt_id, at in finished.items() if prompt_id not in done)
    for prompt in done.values():
        assert datetime.fromisoformat(prompt["timestamps"]["completed"]) < batch[59]


def test_a_provider_down_after_its_retries_hands_its_prompts_to_the_fallback(
    deploy: Callable[..., Deployment], services: Services
) -> None:
    services.http.routes["/v1/chat/completions"] = lambda _: Reply(503, b"{}")
    d = deploy(GENAI_PROVIDER="openai", PROVIDER_FALLBACKS="echo", STEP_MAX_ATTEMPTS="2")
    d.api()
    d.worker()
    with d.client() as client:
        ids = create(client, 3, "p")
        done = wait_all(client, ids, TERMINAL, timeout=60)

    assert {p["status"] for p in done.values()} == {"completed"}
    assert {p["provider"] for p in done.values()} == {"echo"}
    assert {p["response"]["content"] for p in done.values()} == {f"[echo] p{i}" for i in range(3)}
    assert len(services.http.hits_on("/v1/chat/completions")) == 6  # two attempts each
