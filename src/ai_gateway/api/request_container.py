"""The request-scoped DI container, opened for each request and let go of when it ends."""

from __future__ import annotations

from dishka import AsyncContainer
from dishka.integrations.starlette import ContainerMiddleware
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send


class RequestContainers(ContainerMiddleware):
    """dishka's middleware, which keeps each request's container in the request's state while the
    container's context holds the request: a reference cycle that only the garbage collector
    frees. With requests in flight when it runs, the collector promotes their objects to its
    oldest generation, whose full collections then walk every object of the process (ADR 0030).
    Dropping the container from the state once the request is answered breaks the cycle, and
    reference counting frees the request's objects at once."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if scope["type"] == "http":
                scope.get("state", {}).pop("dishka_container", None)


def install_request_containers(app: FastAPI, container: AsyncContainer) -> None:
    """As dishka's ``setup_dishka``, with ``RequestContainers`` as the middleware."""
    app.add_middleware(RequestContainers)
    app.state.dishka_container = container
