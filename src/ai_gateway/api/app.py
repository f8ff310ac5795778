"""Builds the FastAPI application from an already-configured DI container."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dishka import AsyncContainer
from dishka.integrations.fastapi import setup_dishka
from fastapi import FastAPI

from ai_gateway import __version__
from ai_gateway.api.controllers import app as app_controller
from ai_gateway.api.controllers import prompts
from ai_gateway.api.errors import install_error_handlers
from ai_gateway.api.limits import BodySizeLimit

DESCRIPTION = """\
Accepts GenAI prompt requests from client applications (such as the Mosaic item-authoring system),
stores them, and answers at once; the answer is then obtained by polling `GET /api/prompts/{id}`
or delivered to the request's `callback_url`.

Errors are `application/problem+json` (RFC 9457).
"""


def create_api(container: AsyncContainer, *, max_request_bytes: int, telemetry: bool) -> FastAPI:
    """``telemetry`` turns on FastAPI's native OpenTelemetry spans, metrics and logs."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.dishka_container.close()

    app = FastAPI(
        title="AI Gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        telemetry={"tracing": telemetry, "metrics": telemetry, "logs": telemetry},
    )
    app.include_router(prompts.router)
    app.include_router(app_controller.router)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_request_bytes)
    setup_dishka(container, app)
    return app
