"""Deeply nested JSON, NaN and Infinity are refused with 400 on every route, in every body mode."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from ai_gateway.api.strict_json import MAX_DEPTH, PARSED_AT_THE_DOOR, loads, screen
from ai_gateway.bootstrap import create_app
from ai_gateway.json_values import MalformedJson, no_constant
from tests.api.conftest import assert_problem, make_settings
from tests.servers import RedisServer

pytestmark = pytest.mark.integration

EVENT = {"specversion": "1.0", "id": "e-1", "source": "/test", "type": "com.example.x"}


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


LARGE = b'"' + b"x" * PARSED_AT_THE_DOOR + b'"'
"""A string that makes a body too large to be parsed at the door: its strings are cut out."""

HOSTILE = {
    "arrays 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "objects one level too deep": b'{"content": "x", "context": ' + nested(MAX_DEPTH) + b"}",
    "unbalanced brackets": b"[" * 100_000 + b"}",
    "arrays one level too deep": b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
    "arrays and objects one level too deep": b'{"content": "x", "context": '
    + b'[{"a":' * (MAX_DEPTH // 2)
    + b"1"
    + b"}]" * (MAX_DEPTH // 2)
    + b"}",
    "NaN": b'{"content": "x", "context": {"score": NaN}}',
    "Infinity": b'{"content": "x", "context": {"score": Infinity}}',
    "-Infinity": b'{"content": "x", "context": {"score": -Infinity}}',
    "a number too large for a float": b'{"content": "x", "context": {"score": 1e400}}',
    "a long mantissa over a short exponent": b'{"content": "x", "context": {"score": 1'
    + b"0" * 250
    + b"e99}}",
    "NaN in a large body": b'{"content": ' + LARGE + b', "context": {"score": NaN}}',
    "Infinity in a large body": b'{"content": ' + LARGE + b', "context": {"score": Infinity}}',
    "1e400 in a large body": b'{"content": ' + LARGE + b', "context": {"score": 1e400}}',
    "a long mantissa in a large body": b'{"content": '
    + LARGE
    + b', "context": {"s": 1'
    + b"0" * 250
    + b"e99}}",
    "UTF-16": '{"content": "x", "context": {"score": 1e400}}'.encode("utf-16-le"),
    "UTF-16 with a byte order mark": '{"content": "x"}'.encode("utf-16"),
    "UTF-32": '{"content": "x"}'.encode("utf-32-be"),
}

JSON_MEDIA_TYPES = [
    "application/json",
    "application/vnd_x+json",
    "application/+json",
    "application/x!y+json",
    "APPLICATION/JSON; charset=utf-8",
    "text/json",
]


def every_route() -> list[tuple[str, str]]:
    app = create_app(make_settings("redis://127.0.0.1:1/0", "unused"))
    return sorted(
        (method, route.path.replace("{prompt_id}", "p-1"))
        for route in app.routes
        if isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}  # a HEAD answer has no body to read
    )


@pytest.mark.parametrize(("method", "path"), every_route())
@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_json_is_400_on_every_route(
    client: httpx.AsyncClient, method: str, path: str, body: bytes
) -> None:
    response = await client.request(
        method, path, content=body, headers={"content-type": "application/json"}
    )

    assert_problem(response, 400, "malformed-json")


@pytest.mark.parametrize("path", ["/api/prompts", "/api/prompts/p-1/cancel"])
@pytest.mark.parametrize("media", JSON_MEDIA_TYPES)
@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_json_is_400_under_every_media_type_read_as_json(
    client: httpx.AsyncClient, path: str, media: str, body: bytes
) -> None:
    response = await client.post(path, content=body, headers={"content-type": media})

    assert_problem(response, 400, "malformed-json")


BINARY = {f"ce-{k}": v for k, v in EVENT.items()}
EVENT_MODES = {
    "structured": {"content-type": "application/cloudevents+json"},
    "batch": {"content-type": "application/cloudevents-batch+json"},
    "binary": BINARY,
    "binary as JSON": {**BINARY, "content-type": "application/json"},
    "binary, JSON named by the attribute": {
        **BINARY,
        "content-type": "text/plain",
        "ce-datacontenttype": "application/json",
    },
    "binary, JSON in the attribute only": {**BINARY, "ce-datacontenttype": "application/json"},
}


@pytest.mark.parametrize("headers", EVENT_MODES.values(), ids=EVENT_MODES.keys())
@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_json_is_400_for_every_event_mode(
    events_client: httpx.AsyncClient, headers: dict[str, str], body: bytes
) -> None:
    batch = headers.get("content-type") == "application/cloudevents-batch+json"
    utf8 = b"\x00" not in body  # other encodings are refused before their shape matters
    data = b"[" + body + b"]" if batch and utf8 else body

    response = await events_client.post("/api/events", content=data, headers=headers)

    assert_problem(response, 400, "malformed-json")


@pytest.mark.parametrize("path", ["/api/prompts", "/api/events"])
async def test_anonymous_bodies_are_not_parsed(client: httpx.AsyncClient, path: str) -> None:
    del client.headers["X-API-Key"]
    body = b"[" * 100_000 + b"]" * 100_000

    response = await client.post(path, content=body, headers={"content-type": "application/json"})

    assert_problem(response, 401, "unauthenticated")


async def test_json_within_the_limits_is_accepted(
    redis_server: RedisServer, client: httpx.AsyncClient
) -> None:
    body = b'{"content": "[[[[{{{{", "context": ' + nested(MAX_DEPTH - 2) + b"}"

    created = await client.post(
        "/api/prompts", content=body, headers={"content-type": "application/json"}
    )

    assert created.status_code == 201, created.text


async def test_a_body_that_is_not_json_is_left_to_the_route(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/prompts", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert_problem(response, 422, "validation")


@pytest.mark.parametrize(
    "text", ['"a\\"[[["', '{"k": "}}}]]]"}', "[1.5e300, -0.0]", '{"a": [[[], {}], []]}']
)
def test_brackets_and_escapes_inside_strings_do_not_count(text: str) -> None:
    assert loads(text) == json.loads(text)


SHAPES: dict[str, Callable[[int], bytes]] = {
    "objects": nested,
    "arrays": lambda depth: b"[" * depth + b"1" + b"]" * depth,
    "both": lambda depth: (
        b'[{"a":' * (depth // 2)
        + b"[" * (depth % 2)
        + b"1"
        + b"]" * (depth % 2)
        + b"}]" * (depth // 2)
    ),
}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("check", [loads, screen], ids=["loads", "screen"])
def test_the_depth_limit_counts_levels(
    shape: Callable[[int], bytes], check: Callable[[bytes], object]
) -> None:
    check(shape(MAX_DEPTH))
    with pytest.raises(MalformedJson, match=f"deeper than {MAX_DEPTH}"):
        check(shape(MAX_DEPTH + 1))
    padded = shape(MAX_DEPTH + 1)[:-1] + b" " * PARSED_AT_THE_DOOR + shape(MAX_DEPTH + 1)[-1:]
    with pytest.raises(MalformedJson, match=f"deeper than {MAX_DEPTH}"):
        check(padded)  # too large to be parsed at the door


def verdict(check: Callable[[bytes], object], body: bytes) -> tuple[str, type | None] | None:
    """None when ``check`` takes the body, else its refusal and the parser error behind it."""
    try:
        check(body)
    except MalformedJson as exc:
        return str(exc), None if exc.__cause__ is None else type(exc.__cause__)
    return None


ORDINARY = {
    "a plain prompt": b'{"content": "NaN and Infinity in a string", "context": {"n": [1, 2.5]}}',
    "an exponent in range": b'{"content": "x", "context": {"score": 1e300}}',
    "a Python literal": b'{"content": "x", "context": {"score": None}}',
    "an unterminated string": b'{"content": "Infinity',
    "not JSON": b"{not json",
}


@pytest.mark.parametrize("body", [*HOSTILE.values(), *ORDINARY.values()], ids=[*HOSTILE, *ORDINARY])
def test_screening_refuses_what_parsing_refuses_and_for_the_same_reason(body: bytes) -> None:
    assert verdict(screen, body) == verdict(loads, body)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, dict[str, object]]]:
    """Every ``json.loads`` of bytes while the test runs, with its keyword arguments."""
    seen: list[tuple[bytes, dict[str, object]]] = []
    real = json.loads

    def counting(text: str | bytes, **kwargs: Any) -> Any:
        if isinstance(text, bytes):
            seen.append((text, kwargs))
        return real(text, **kwargs)

    monkeypatch.setattr(json, "loads", counting)
    return seen


async def test_a_small_body_is_parsed_once_at_the_door_and_its_route_takes_the_value(
    client: httpx.AsyncClient, parses: list[tuple[bytes, dict[str, object]]]
) -> None:
    body = b'{"content": "NaN, Infinity and [[[ in a string", "context": {"score": 0.1}}'

    created = await client.post(
        "/api/prompts", content=body, headers={"content-type": "application/json"}
    )

    assert created.status_code == 201, created.text
    (only,) = [kwargs for text, kwargs in parses if text == body]
    assert only["parse_constant"] is no_constant  # the door's strict parse, not the route's
    read = await client.get(created.headers["location"])
    assert read.json()["context"] == {"score": 0.1}


async def test_a_large_body_is_screened_at_the_door_and_parsed_by_its_route(
    client: httpx.AsyncClient, parses: list[tuple[bytes, dict[str, object]]]
) -> None:
    body = b'{"content": ' + LARGE + b', "context": {"score": 0.1}}'

    created = await client.post(
        "/api/prompts", content=body, headers={"content-type": "application/json"}
    )

    assert created.status_code == 201, created.text
    assert [kwargs for text, kwargs in parses if text == body] == [{}]
