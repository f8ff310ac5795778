"""What the prompt endpoints refuse and replay: idempotency keys, invalid bodies and queries,
bodies over the limit, unknown routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.conftest import ITEM, OTHER_KEY, assert_problem

pytestmark = pytest.mark.integration


async def test_the_same_idempotency_key_replays_and_a_changed_body_is_422(
    client: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "create-42"}
    first = await client.post("/api/prompts/item", json=ITEM, headers=headers)
    again = await client.post("/api/prompts/item", json=ITEM, headers=headers)
    changed = await client.post(
        "/api/prompts/item", json={**ITEM, "itemBp": "2.0"}, headers=headers
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert_problem(changed, 422, "idempotency-key-reused")
    listed = (await client.get("/api/prompts", params={"request_id": ITEM["requestId"]})).json()
    assert len(listed["items"]) == 1


async def test_idempotency_keys_of_different_callers_do_not_collide(
    client: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "same"}
    mine = await client.post("/api/prompts", json={"content": "x"}, headers=headers)
    theirs = await client.post(
        "/api/prompts", json={"content": "y"}, headers={**headers, "X-API-Key": OTHER_KEY}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.content"),
        ({"content": ""}, "body.content"),
        ({"content": "x", "kind": "Bad Kind"}, "body.kind"),
        ({"content": "x", "callback_url": "ftp://example.com/x"}, "body.callback_url"),
        ({"content": "x", "data_url": "not a url"}, "body.data_url"),
        ({"content": "x", "unexpected": 1}, "body.unexpected"),
        ({"content": "x", "request_id": "r" * 129}, "body.request_id"),
    ],
)
async def test_an_invalid_generic_body_is_a_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    problem = assert_problem(await client.post("/api/prompts", json=body), 422, "validation")
    assert field in [e["field"] for e in problem["errors"]]


async def test_malformed_json_is_a_422_not_a_500(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/prompts", content=b'{"content": ', headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 422, "validation")


async def test_a_rejected_value_is_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/prompts", json={"content": "x", "callback_url": "secret-token-xyz"}
    )
    assert_problem(response, 422, "validation")
    assert "secret-token-xyz" not in response.text


async def test_an_invalid_query_is_a_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/prompts", params={"limit": 0}), 422, "validation")
    assert_problem(await client.get("/api/prompts", params={"status": "lost"}), 422, "validation")
    assert_problem(await client.get("/api/prompts", params={"cursor": "nope"}), 422, "validation")


async def test_a_malformed_idempotency_key_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/prompts", json={"content": "x"}, headers={"Idempotency-Key": "k" * 300}
    )
    problem = assert_problem(response, 422, "validation")
    assert problem["errors"] == [
        {"field": "Idempotency-Key", "message": "must be 1-255 printable ASCII characters"}
    ]


async def test_a_body_over_the_limit_is_413_before_it_is_read(client: httpx.AsyncClient) -> None:
    big = b'{"content": "' + b"x" * 1_100_000 + b'"}'
    response = await client.post(
        "/api/prompts", content=big, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413, "too-large")


async def test_a_streamed_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[
        bytes
    ]:  # no Content-Length: the limit is enforced on the bytes received
        yield b'{"content": "'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"}'

    response = await client.post(
        "/api/prompts", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413, "too-large")


async def test_an_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/nowhere"), 404, "not-found")
    assert_problem(await client.delete("/api/prompts"), 405, "http")
