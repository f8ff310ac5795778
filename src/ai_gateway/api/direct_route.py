"""A route documented by FastAPI from its endpoint's signature, whose arguments it binds itself.

FastAPI resolves a route's parameters per request with a general solver, and dishka's ``inject``
then opens a request-scoped container and resolves the endpoint's services from it: together, and
with the response's re-validation, about a third of a prompt's creation (ADR 0033). The routes
clients call most take only a few kinds of argument, and ``DirectRoute`` binds exactly those,
planned once when the route is declared:

- path parameters (``str``);
- one JSON body, a pydantic model, read and validated as FastAPI reads it (a JSON media type, an
  empty body as a missing one, the same errors under ``body``);
- headers (``str | None``, a ``Header`` without constraints);
- the sub-response, for headers and the status;
- the caller (``FromDishka[PromptCaller]`` and its kin), from the ``Doorkeeper`` and the
  ``ScopePolicy`` that the request-scoped callers come from;
- the application's services (``FromDishka``), resolved once.

Its route-level dependencies may only declare security schemes (documentation) or check the caller
(``policy.CALLER_CHECKS``), which is done before the body is read, as FastAPI would. Anything
else in the signature is refused when the route is declared, so the document FastAPI generates
from the signature and what is served cannot drift apart. The endpoint returns a pydantic model,
sent as JSON with the route's status.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from dishka import AsyncContainer, FromComponent
from dishka.exceptions import NoFactoryError
from dishka.integrations.fastapi import inject
from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends, Header
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, ValidationError

from ai_gateway.api.auth.dependencies import Doorkeeper
from ai_gateway.api.auth.policy import CALLER_CHECKS, ScopePolicy
from ai_gateway.api.strict_json import SCREENED, json_subtype, media_type

_JSON = "application/json"
_CALLERS = frozenset(CALLER_CHECKS.values())
_SERVICE = type(FromComponent())  # the mark ``FromDishka`` puts on a parameter


@dataclass(frozen=True, slots=True)
class _Plan:
    """What each argument of the endpoint is bound to."""

    checks: tuple[object, ...]  # callers checked before the body is read
    callers: tuple[tuple[str, object], ...]
    services: tuple[tuple[str, Any], ...]
    paths: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    body: tuple[str, type[BaseModel]] | None
    response: str | None


class DirectRoute(APIRoute):
    """See the module's docstring."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self._direct = endpoint
        super().__init__(path, inject(endpoint), **kwargs)  # documented as dishka's routes are

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        plan = _plan(self._direct, self.dependencies, set(self.param_convertors))
        return _Handler(self._direct, plan, self.status_code or 200)


class _Handler:
    """Serves one route of one application. Its services are the application's, resolved from
    its container at the first request and kept; the caller is checked by the ``Doorkeeper``
    and the ``ScopePolicy`` that the request-scoped callers come from, so no request-scoped
    container is opened."""

    def __init__(self, endpoint: Callable[..., Any], plan: _Plan, status: int) -> None:
        self._endpoint = endpoint
        self._plan = plan
        self._status = status
        self._resolved: tuple[AsyncContainer, _Services] | None = None

    async def _services(self, container: AsyncContainer) -> _Services:
        if self._resolved is None or self._resolved[0] is not container:
            try:
                services = _Services(
                    await container.get(Doorkeeper),
                    await container.get(ScopePolicy),
                    {name: await container.get(kind) for name, kind in self._plan.services},
                )
            except NoFactoryError as exc:
                raise TypeError("a direct route binds only the application's services") from exc
            self._resolved = (container, services)
        return self._resolved[1]

    async def __call__(self, request: Request) -> Response:
        plan = self._plan
        services = await self._services(request.app.state.dishka_container)
        arguments: dict[str, Any] = dict(services.arguments)
        if plan.checks or plan.callers:
            principal = await services.doorkeeper.principal(request.headers)
            for caller in plan.checks:
                services.policy.admit(principal, caller)
            for name, caller in plan.callers:
                arguments[name] = services.policy.admit(principal, caller)
        for name in plan.paths:
            arguments[name] = request.path_params[name]
        for name, header in plan.headers:
            arguments[name] = request.headers.get(header)
        if plan.body is not None:
            name, model = plan.body
            raw = await request.body()
            media = request.headers.get("content-type")
            arguments[name] = _body(model, raw, media, request.scope.get(SCREENED))
        sub = Response(status_code=0)  # 0: the endpoint left the route's status
        if plan.response is not None:
            arguments[plan.response] = sub
        result = await self._endpoint(**arguments)
        response = Response(
            result.model_dump_json(by_alias=True),
            status_code=sub.status_code or self._status,
            media_type=_JSON,
        )
        response.raw_headers.extend(
            pair for pair in sub.raw_headers if pair[0] not in (b"content-length", b"content-type")
        )
        return response


@dataclass(frozen=True, slots=True)
class _Services:
    doorkeeper: Doorkeeper
    policy: ScopePolicy
    arguments: dict[str, Any]


def _body(
    model: type[BaseModel], raw: bytes, media: str | None, screened: tuple[bytes, Any] | None
) -> BaseModel:
    """The body as FastAPI reads a model: parsed when its media type is JSON (the value
    ``StrictJsonBodies`` parsed, when it parsed these bytes), then validated (errors located under
    ``body``); a missing or empty body is a missing field."""
    value: Any = None
    if raw and media and _is_json(media):
        value = screened[1] if screened is not None and screened[0] == raw else _parsed(raw)
    elif raw:
        value = raw
    if value is None:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    try:
        return model.model_validate(value, from_attributes=True)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from exc


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
                 "input": {}, "ctx": {"error": exc.msg}}  # fmt: skip
        raise RequestValidationError([error]) from exc
    except ValueError as exc:  # not UTF-8: what FastAPI answers for a body it cannot read
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


def _is_json(media: str) -> bool:
    """As FastAPI judges a body's media type: ``application/json`` or ``application/*+json``."""
    main, subtype = media_type(media)
    return main == "application" and json_subtype(subtype)


def _checks(endpoint: Callable[..., Any], dependencies: list[Depends]) -> tuple[object, ...]:
    """The callers that the route's dependencies check."""
    checks: list[object] = []
    for dependency in dependencies:
        if isinstance(dependency.dependency, SecurityBase) and not getattr(
            dependency.dependency, "auto_error", True
        ):
            continue  # declares a scheme for the document; the caller check authenticates
        caller = CALLER_CHECKS.get(dependency.dependency)
        if caller is None:
            raise TypeError(f"{endpoint.__name__}: a direct route cannot run {dependency!r}")
        checks.append(caller)
    return tuple(checks)


def _plan(endpoint: Callable[..., Any], dependencies: list[Depends], paths: set[str]) -> _Plan:
    services, callers, path_names, headers = [], [], [], []
    body: tuple[str, type[BaseModel]] | None = None
    response = None
    hints = get_type_hints(endpoint, include_extras=True)
    for name, parameter in inspect.signature(endpoint).parameters.items():
        hint = hints[name]
        origin, extras = (get_origin(hint), get_args(hint)[1:])
        marker = extras[0] if origin is Annotated and extras else parameter.default
        if isinstance(marker, _SERVICE) and get_args(hint)[0] in _CALLERS:
            callers.append((name, get_args(hint)[0]))
        elif isinstance(marker, _SERVICE):
            services.append((name, get_args(hint)[0]))
        elif isinstance(marker, Header) and not marker.metadata and parameter.default is None:
            headers.append((name, marker.alias or name.replace("_", "-")))
        elif name in paths and hint is str:
            path_names.append(name)
        elif hint is Response:
            response = name
        elif isinstance(hint, type) and issubclass(hint, BaseModel) and body is None:
            body = (name, hint)
        else:
            raise TypeError(f"{endpoint.__name__}: a direct route cannot bind {name}: {hint}")
    return _Plan(
        _checks(endpoint, dependencies), tuple(callers), tuple(services), tuple(path_names),
        tuple(headers), body, response,
    )  # fmt: skip
