"""DirectRoute: the same endpoint served by FastAPI's solver (DishkaRoute) and by DirectRoute gives
the same OpenAPI document and the same answers; a signature it cannot bind is refused early."""

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import pytest
from dishka import AsyncContainer, FromDishka, Provider, Scope, make_async_container, provide
from dishka.integrations.fastapi import DishkaRoute, FastapiProvider, setup_dishka
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Response
from pydantic import BaseModel, Field

from ai_gateway.api.auth.dependencies import SECURITY_SCHEMES
from ai_gateway.api.auth.policy import PROMPT_ROUTES, PromptCaller
from ai_gateway.api.controllers.app import AppInfo
from ai_gateway.api.direct_route import DirectRoute, _body
from ai_gateway.api.errors import install_error_handlers
from ai_gateway.api.strict_json import StrictJsonBodies
from ai_gateway.application.ports.callers import CallerLog, CallerSeen
from ai_gateway.application.principal import Principal
from ai_gateway.bootstrap.http import HttpProvider
from ai_gateway.settings import Settings
from ai_gateway.settings.values import parse_api_key

KEYS = (
    parse_api_key("ada:ada-key-0123456789"),
    parse_api_key({"name": "bob", "key": "bob-key-0123456789", "scopes": ["events"]}),
)


class Greeter:
    def greet(self, name: str) -> str:
        return f"hello {name}"


class Callers:
    """A caller log that keeps nothing."""

    async def seen(self, principal: Principal, at: datetime) -> None:
        return None

    async def callers(self, limit: int) -> Sequence[CallerSeen]:
        return ()


class Services(Provider):
    scope = Scope.APP
    greeter = provide(Greeter)
    callers = provide(Callers, provides=CallerLog)


def container() -> AsyncContainer:
    """The callers wired by the gateway's own HTTP provider, whose request-scoped callers
    FastAPI's solver resolves and whose ``Doorkeeper`` and ``ScopePolicy`` DirectRoute asks."""
    settings = Settings(_env_file=None, mosaic_api_keys=KEYS, required_scope="prompts")
    info = AppInfo("t", "0", "test", datetime.now(UTC), "external")
    return make_async_container(
        HttpProvider(), Services(), FastapiProvider(), context={Settings: settings, AppInfo: info}
    )


class Body(BaseModel):
    text: str = Field(min_length=1, max_length=10)
    count: int = 1
    tags: list[str] = []


class Answer(BaseModel):
    text: str
    caller: str
    scopes: list[str] = []
    key: str | None
    item: str | None = None


Key = Annotated[str | None, Header(alias="Idempotency-Key", description="A retry's key")]


async def post(
    body: Body,
    caller: FromDishka[PromptCaller],
    response: Response,
    greeter: FromDishka[Greeter],
    key: Key = None,
) -> Answer:
    """Posts a body."""
    response.headers["Location"] = "/things/1"
    if body.count == 7:
        response.status_code = 202
    text = greeter.greet(body.text) * body.count
    return Answer(text=text, caller=caller.subject, scopes=sorted(caller.scopes), key=key)


async def get(item: str, caller: FromDishka[PromptCaller]) -> Answer:
    """Reads an item."""
    return Answer(text="", caller=caller.subject, key=None, item=item)


def app_with(route_class: type) -> FastAPI:
    router = APIRouter(
        prefix="/things",
        tags=["Things"],
        route_class=route_class,
        dependencies=[*SECURITY_SCHEMES, *PROMPT_ROUTES],
    )
    router.post("", status_code=201)(post)
    router.get("/{item}")(get)
    app = FastAPI()
    app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(StrictJsonBodies)  # whose parsed bodies DirectRoute takes (ADR 0038)
    setup_dishka(container(), app)
    return app


@pytest.fixture
async def clients() -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    solved, direct = app_with(DishkaRoute), app_with(DirectRoute)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(solved), base_url="http://t") as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(direct), base_url="http://t") as b,
    ):
        yield a, b


def test_the_document_is_the_one_fastapi_generates_for_the_signature() -> None:
    assert app_with(DirectRoute).openapi() == app_with(DishkaRoute).openapi()


JSON = {"Content-Type": "application/json", "X-API-Key": "ada-key-0123456789"}
REQUESTS: list[tuple[str, str, dict[str, str], bytes]] = [
    ("POST", "/things", JSON, b'{"text": "you"}'),
    ("POST", "/things", {**JSON, "Idempotency-Key": "k1"}, b'{"text": "you", "count": 2}'),
    ("POST", "/things", JSON, b'{"text": "you", "count": 7}'),
    ("POST", "/things", {**JSON, "Content-Type": "application/cloudevents+json"}, b'{"text":"a"}'),
    ("POST", "/things", JSON, b'{"text": ""}'),
    ("POST", "/things", JSON, b'{"text": "x", "count": "many", "tags": [1]}'),
    ("POST", "/things", JSON, b'{"text": "x",'),
    ("POST", "/things", JSON, b"[1, 2]"),
    ("POST", "/things", JSON, b""),
    ("POST", "/things", {"X-API-Key": "ada-key-0123456789"}, b'{"text": "you"}'),
    ("POST", "/things", {**JSON, "X-API-Key": "bob-key-0123456789"}, b'{"text": "you"}'),
    ("POST", "/things", {**JSON, "X-API-Key": "eve-key-0123456789"}, b'{"text": "you"}'),
    ("POST", "/things", {**JSON, "Authorization": "Bearer a.b.c"}, b'{"text": "you"}'),
    ("POST", "/things", {**JSON, "Content-Type": "text/plain"}, b'{"text": "you"}'),
    ("POST", "/things", {**JSON, "Content-Type": "text/json"}, b'{"text": "you"}'),
    ("POST", "/things", JSON, b'{"text": "\xff"}'),
    ("POST", "/things", JSON, b'{"text": "you", "count": NaN}'),
    ("POST", "/things", JSON, b'{"text": "' + b"x" * 20_000 + b'"}'),
    ("POST", "/things", {"Content-Type": "application/json"}, b'{"text": "you"}'),
    ("GET", "/things/42", {"X-API-Key": "ada-key-0123456789"}, b""),
    ("GET", "/things/42", {"Authorization": "ada-key-0123456789"}, b""),
    ("GET", "/things/42", {"X-API-Key": "bob-key-0123456789"}, b""),
    ("GET", "/things/42", {}, b""),
]


@pytest.mark.parametrize(("method", "path", "headers", "body"), REQUESTS)
async def test_each_request_is_answered_as_fastapi_answers_it(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
) -> None:
    solved, direct = clients
    expected = await solved.request(method, path, headers=headers, content=body)
    answered = await direct.request(method, path, headers=headers, content=body)

    assert answered.status_code == expected.status_code
    assert answered.json() == expected.json()
    for name in ("content-type", "location", "www-authenticate"):
        assert answered.headers.get(name) == expected.headers.get(name)


async def checked(_: Annotated[str, Query()]) -> None:
    """A dependency DirectRoute does not know how to run."""


async def with_query(q: Annotated[str, Query()]) -> Answer:
    return Answer(text=q, caller="", key=None)


async def with_required_header(key: Annotated[str, Header()]) -> Answer:
    return Answer(text=key, caller="", key=key)


async def with_two_bodies(a: Body, b: Body) -> Answer:
    return Answer(text=a.text + b.text, caller="", key=None)


@pytest.mark.parametrize(
    ("endpoint", "dependencies"),
    [
        (with_query, []),
        (with_required_header, []),
        (with_two_bodies, []),
        (get, [Depends(checked)]),
    ],
)
def test_a_signature_it_cannot_bind_is_refused_when_the_route_is_declared(
    endpoint: Any, dependencies: list[Any]
) -> None:
    router = APIRouter(route_class=DirectRoute, dependencies=dependencies)
    with pytest.raises(TypeError, match="a direct route cannot"):
        router.get("/{item}")(endpoint)


async def test_a_caller_refused_at_the_door_is_refused_before_its_body_is_read(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    """Where FastAPI parses the body before its dependencies authenticate, and answers 422."""
    solved, direct = clients
    headers = {**JSON, "X-API-Key": "eve-key-0123456789"}

    assert (await solved.post("/things", headers=headers, content=b"{")).status_code == 422
    answered = await direct.post("/things", headers=headers, content=b"{")

    assert answered.status_code == 401
    assert answered.json()["type"] == "urn:ai-gateway:problem:unauthenticated"


def test_a_value_parsed_at_the_door_is_taken_only_for_the_bytes_it_came_from() -> None:
    other = (b'{"text": "door"}', {"text": "door"})
    same = (b'{"text": "door"}', {"text": "door", "count": 3})  # what the screen would leave
    media = "application/json"

    assert _body(Body, b'{"text": "route"}', media, other) == Body(text="route")
    assert _body(Body, b'{"text": "door"}', media, same) == Body(text="door", count=3)
    assert _body(Body, b'{"text": "door"}', media, None) == Body(text="door")
