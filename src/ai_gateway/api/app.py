"""Builds the FastAPI application from an already-configured DI container."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from dishka import AsyncContainer
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ai_gateway import __version__
from ai_gateway.api.console import install_console
from ai_gateway.api.controllers import (
    admin,
    admin_operations,
    callers,
    events,
    internal,
    metrics,
    prompts,
)
from ai_gateway.api.controllers import app as app_controller
from ai_gateway.api.creation_share import CreationShare
from ai_gateway.api.docs_pages import install_docs
from ai_gateway.api.errors import install_error_handlers
from ai_gateway.api.http_metrics import HttpMetrics
from ai_gateway.api.limits import BodySizeLimit
from ai_gateway.api.request_container import install_request_containers
from ai_gateway.api.request_spans import RequestSpans
from ai_gateway.api.strict_json import StrictJsonBodies

DESCRIPTION = """\
Accepts GenAI prompt requests from client applications (such as the Mosaic item-authoring system),
stores them, and answers at once; the answer is then obtained by polling `GET /api/prompts/{id}`
or delivered to the request's `callback_url`.

Errors are `application/problem+json` (RFC 9457).
"""


@dataclass(frozen=True, slots=True)
class SwaggerLogin:
    """The Swagger UI's OAuth2 login: a public client (no secret) of the identity provider."""

    client_id: str
    authorization_url: str
    token_url: str


@dataclass(frozen=True, slots=True)
class BearerDocs:
    """How bearer tokens are documented: the scope each tag's operations need, and the login."""

    tag_scopes: dict[str, str]
    login: SwaggerLogin | None = None


def create_api(
    container: AsyncContainer,
    *,
    max_request_bytes: int,
    telemetry: bool,
    traced: bool = False,
    bearer: BearerDocs | None = None,
    background: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    console: bool = False,
    creations_at_once: int = 0,
) -> FastAPI:
    """``telemetry`` turns on FastAPI's native OpenTelemetry spans, metrics and logs; ``traced``
    gives every request a server span continuing the caller's trace (ADR 0021); ``bearer``
    documents JWT access in the OpenAPI document and Swagger UI; ``background`` runs for as long as
    the application does (the in-process worker); ``console`` serves the operator console;
    ``creations_at_once``, when not 0, holds creations to that many at once (``CreationShare``)."""
    login = bearer.login if bearer else None
    init_oauth = (
        None
        if login is None
        else {
            "clientId": login.client_id,
            "usePkceWithAuthorizationCodeGrant": True,
            "scopes": " ".join(sorted(set(bearer.tag_scopes.values()))) if bearer else "",
        }
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            if background is None:
                yield
            else:
                async with background():
                    yield
        finally:
            await app.state.dishka_container.close()

    app = FastAPI(
        title="AI Gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        telemetry={"tracing": telemetry, "metrics": telemetry, "logs": telemetry},
        docs_url=None,
        redoc_url=None,
    )
    app.include_router(prompts.direct)  # first: the routes clients call most are matched first
    install_docs(app, init_oauth)
    app.include_router(prompts.router)
    app.include_router(admin.router)
    app.include_router(admin_operations.router)
    app.include_router(callers.me)
    app.include_router(callers.admin)
    app.include_router(internal.router)
    app.include_router(events.router)
    app.include_router(metrics.router)
    app.include_router(app_controller.router)
    install_error_handlers(app)
    if console:
        install_console(app)
    app.add_middleware(StrictJsonBodies)
    app.add_middleware(BodySizeLimit, max_bytes=max_request_bytes)  # caps what is read
    if creations_at_once:  # inside the spans and metrics: a creation's wait is part of its time
        app.add_middleware(CreationShare, at_once=creations_at_once)
    if traced:
        app.add_middleware(RequestSpans)
    app.add_middleware(HttpMetrics)  # outermost: times requests refused for their size too
    install_request_containers(app, container)
    if bearer is not None:
        app.openapi = _openapi_with_bearer(app, bearer)  # type: ignore[method-assign]
    return app


def _openapi_with_bearer(app: FastAPI, bearer: BearerDocs) -> Callable[[], dict[str, Any]]:
    """Adds the bearer schemes, whose URLs and scopes are settings, to the generated document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["BearerToken"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        scopes = {scope: f"the '{scope}' scope" for scope in bearer.tag_scopes.values()}
        if bearer.login is not None:
            urls = {"tokenUrl": bearer.login.token_url, "scopes": scopes}
            schemes["OAuth2"] = {
                "type": "oauth2",
                "flows": {
                    "clientCredentials": urls,
                    "authorizationCode": {
                        "authorizationUrl": bearer.login.authorization_url,
                        **urls,
                    },
                },
            }
        for operation in (op for item in schema["paths"].values() for op in item.values()):
            scope = next(
                (bearer.tag_scopes[t] for t in operation.get("tags", ()) if t in bearer.tag_scopes),
                None,
            )
            if scope is None or "security" not in operation:
                continue
            operation["security"].append({"BearerToken": []})
            if bearer.login is not None:
                operation["security"].append({"OAuth2": [scope]})
        app.openapi_schema = schema
        return schema

    return openapi
