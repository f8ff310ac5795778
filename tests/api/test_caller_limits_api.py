"""Caller limits through the real app and Redis: refusals write nothing, cost no round trip of
their own, and administrators change limits at run time (ADR 0019)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from ai_gateway.bootstrap import create_app
from ai_gateway.domain.limits import parse_caller_limits
from ai_gateway.domain.prompt import PromptStatus
from ai_gateway.domain.values import PromptResponse, TokenUsage
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from ai_gateway.settings.values import parse_api_key
from tests.api.conftest import (
    MOSAIC_KEY,
    OPS_KEY,
    OTHER_KEY,
    assert_problem,
    client_for,
    jwt_settings,
    make_settings,
)
from tests.factories import walk
from tests.idp_server import IdpServer
from tests.servers import RedisServer

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(redis_server: RedisServer, key_prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        redis_server.url,
        key_prefix,
        mosaic_api_keys=(
            parse_api_key(f"mosaic:{MOSAIC_KEY}"),
            parse_api_key(f"other:{OTHER_KEY}"),
            parse_api_key({"name": "ops", "key": OPS_KEY, "scopes": ["api", "admin"]}),
        ),
        caller_limits=parse_caller_limits('{"mosaic": {"requests": "2/minute", "in_flight": 9}}'),
        cloud_event_sink="http://127.0.0.1:1/sink",
    )
    async for c in client_for(create_app(settings)):
        yield c


# What the admission runs inside the creation script; Redis counts a script's calls with the rest.
ADMISSION_CALLS = {"get", "pttl", "incr", "pexpire", "zcard", "hincrby", "time", "info"}


async def _commands(redis: Redis) -> Counter[str]:
    stats = await redis.info("commandstats")
    return Counter(
        {
            name.removeprefix("cmdstat_"): int(s["calls"])
            for name, s in stats.items()
            if name.removeprefix("cmdstat_") not in ADMISSION_CALLS
        }
    )


async def test_a_refused_creation_writes_nothing(
    client: httpx.AsyncClient, redis_client: Redis, key_prefix: str
) -> None:
    mosaic = {"X-API-Key": MOSAIC_KEY}
    for n in range(2):
        created = await client.post("/api/prompts", json={"content": f"{n}"}, headers=mosaic)
        assert created.status_code == 201
    before = set(await redis_client.keys(f"{key_prefix}:*"))
    events = await redis_client.xlen(f"{key_prefix}:outbox")

    refused = await client.post(
        "/api/prompts", json={"content": "3"}, headers={**mosaic, "Idempotency-Key": "k-3"}
    )

    assert_problem(refused, 429, "rate-limited")
    assert refused.headers["ratelimit-policy"] == '"requests";q=2;w=60, ' + (
        '"in-flight";q=9;qu="concurrent-requests"'
    )
    assert 0 < int(refused.headers["retry-after"]) <= 60
    after = set(await redis_client.keys(f"{key_prefix}:*"))
    assert after - before == {f"{key_prefix}:limits:refused"}  # the count operators watch
    assert await redis_client.xlen(f"{key_prefix}:outbox") == events
    other = await client.post(
        "/api/prompts", json={"content": "x"}, headers={"X-API-Key": OTHER_KEY}
    )
    assert other.status_code == 201
    assert "ratelimit" not in other.headers


async def test_limits_cost_no_round_trip_of_their_own(
    client: httpx.AsyncClient, redis_client: Redis
) -> None:
    async def cost(key: str) -> Counter[str]:
        before = await _commands(redis_client)
        answer = await client.post(
            "/api/prompts", json={"content": "x"}, headers={"X-API-Key": key}
        )
        assert answer.status_code == 201
        return await _commands(redis_client) - before

    await cost(MOSAIC_KEY)  # a caller's limits are read once a second, not per creation
    await cost(OTHER_KEY)
    limited, unlimited = await cost(MOSAIC_KEY), await cost(OTHER_KEY)

    assert limited == unlimited


async def test_an_administrator_changes_a_callers_limits_with_an_event(
    client: httpx.AsyncClient, redis_client: Redis, key_prefix: str
) -> None:
    ops, mosaic = {"X-API-Key": OPS_KEY}, {"X-API-Key": MOSAIC_KEY}
    assert_problem(
        await client.put("/api/admin/callers/mosaic/limits", json={}, headers=mosaic),
        403,
        "forbidden",
    )
    # the scope is checked at the door, as on every admin route: before the body is read
    assert_problem(
        await client.put("/api/admin/callers/mosaic/limits", json={"x": 1}, headers=mosaic),
        403,
        "forbidden",
    )
    assert (await client.get("/api/admin/callers/mosaic/limits", headers=ops)).json()[
        "stored"
    ] is None

    changed = await client.put(
        "/api/admin/callers/mosaic/limits",
        json={"requests": "100/hour", "priority": "batch", "weight": 4},
        headers=ops,
    )
    mine = (await client.get("/api/me/limits", headers=mosaic)).json()
    created = await client.post("/api/prompts", json={"content": "x"}, headers=mosaic)
    prompt = (await client.get(created.headers["location"], headers=mosaic)).json()
    reset = await client.delete("/api/admin/callers/mosaic/limits", headers=ops)

    assert changed.status_code == 200
    assert changed.json()["limits"]["requests"] == "100/hour"
    assert changed.json()["configured"]["requests"] == "2/minute"
    assert mine["limits"]["weight"] == 4
    assert mine["remaining"]["requests"] == 100
    assert created.headers["ratelimit"] == '"requests";r=99;t=3600'
    assert (prompt["priority"], prompt["caller"]) == ("batch", "mosaic")
    assert reset.json()["limits"]["requests"] == "2/minute"
    entries = await redis_client.xrange(f"{key_prefix}:outbox") or []
    changes = [str(e["e"]) for _, e in entries if e and '"caller.limits.changed"' in str(e["e"])]
    assert len(changes) == 2
    assert '"changed_by":"apikey:ops"' in changes[0]
    spec = (await client.get("/openapi.json")).json()["paths"]
    assert {"get", "put", "delete"} <= set(spec["/api/admin/callers/{name}/limits"])
    assert "/api/me/limits" in spec


async def test_the_callers_list_shows_each_callers_limits_their_source_and_its_usage(
    client: httpx.AsyncClient, redis_client: Redis, key_prefix: str
) -> None:
    ops, mosaic = {"X-API-Key": OPS_KEY}, {"X-API-Key": MOSAIC_KEY}
    created = [
        (await client.post("/api/prompts", json={"content": f"{n}"}, headers=mosaic)).json()["id"]
        for n in range(2)
    ]
    repo = RedisPromptRepository(redis_client, prefix=key_prefix)
    answered = await repo.get(created[0])
    assert answered is not None
    walk(answered, PromptStatus.SUBMITTED, answered.created_at)
    answered.record_response(
        PromptResponse.of("done", {}, answered.created_at), TokenUsage.of(5, 7)
    )
    await repo.save(answered)
    await client.put("/api/admin/callers/other/limits", json={"tokens_per_day": 1000}, headers=ops)

    body = (await client.get("/api/admin/callers", headers=ops)).json()

    keys = {k["name"]: k for k in body["api_keys"]}
    assert keys["mosaic"]["caller"] == "mosaic"
    assert keys["mosaic"]["limits_source"] == "configured"
    assert (keys["mosaic"]["limits"]["requests"], keys["mosaic"]["limits"]["in_flight"]) == (
        "2/minute", 9
    )  # fmt: skip
    assert keys["mosaic"]["usage"]["requests"] == 2
    assert 0 < keys["mosaic"]["usage"]["requests_reset_seconds"] <= 60
    assert (keys["mosaic"]["usage"]["in_flight"], keys["mosaic"]["usage"]["tokens_today"]) == (
        1, 12
    )  # fmt: skip
    assert keys["other"]["limits_source"] == "stored"
    assert keys["other"]["limits"]["tokens_per_day"] == 1000
    assert keys["other"]["usage"] == {
        "requests": 0, "requests_reset_seconds": None, "in_flight": 0, "tokens_today": 0
    }  # fmt: skip
    assert (keys["ops"]["limits"], keys["ops"]["limits_source"]) == (None, None)
    seen = {c["owner"]: c for c in body["seen"]}
    assert seen["apikey:mosaic"]["usage"] == keys["mosaic"]["usage"]
    assert seen["apikey:mosaic"]["limits"] == keys["mosaic"]["limits"]


async def test_the_subjects_of_one_client_share_its_limits_in_the_callers_list(
    redis_server: RedisServer, key_prefix: str, idp: IdpServer
) -> None:
    settings = jwt_settings(
        redis_server, key_prefix, idp,
        mosaic_api_keys=(parse_api_key({"name": "ops", "key": OPS_KEY, "scopes": ["admin"]}),),
        caller_limits=parse_caller_limits('{"portal": {"requests": "5/minute", "in_flight": 3}}'),
    )  # fmt: skip
    async for client in client_for(create_app(settings)):
        for subject in ("user-1", "user-2"):
            token = idp.mint({"sub": subject, "client_id": "portal"})
            created = await client.post(
                "/api/prompts",
                json={"content": subject},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.status_code == 201
        body = (await client.get("/api/admin/callers", headers={"X-API-Key": OPS_KEY})).json()

    seen = {c["owner"]: c for c in body["seen"]}
    for owner in ("jwt:user-1", "jwt:user-2"):
        assert (seen[owner]["client_id"], seen[owner]["caller"]) == ("portal", "portal")
        assert seen[owner]["limits_source"] == "configured"
        assert seen[owner]["limits"]["requests"] == "5/minute"
        # the client's rate window counts both subjects; in flight is counted per subject
        assert (seen[owner]["usage"]["requests"], seen[owner]["usage"]["in_flight"]) == (2, 1)
