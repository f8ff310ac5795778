"""The request-scoped DI container, opened when a request first asks it for something, and let go
of when the request ends."""

from __future__ import annotations

from typing import Any

from dishka import DEFAULT_COMPONENT, AsyncContainer
from dishka import Scope as DIScope
from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send


class RequestContainer:
    """The request's container as dishka's ``inject`` uses it (``get``), opened on the first
    ``get``: a route that resolves nothing per request (``DirectRoute``) costs no scope."""

    def __init__(self, parent: AsyncContainer, request: Request) -> None:
        self._parent = parent
        self._request: Request | None = request
        self._container: AsyncContainer | None = None

    async def get(self, dependency_type: Any, component: str = DEFAULT_COMPONENT) -> Any:
        if self._container is None:
            if self._request is None:
                raise RuntimeError("the request has ended")
            self._container = self._parent({Request: self._request}, scope=DIScope.REQUEST)
        return await self._container.get(dependency_type, component=component)

    async def close(self, error: BaseException | None) -> None:
        container, self._container, self._request = self._container, None, None
        if container is not None:
            await container.close(error)


class RequestContainers:
    """Gives each HTTP request its ``RequestContainer`` (in the request's state, where dishka's
    ``inject`` looks), and closes it when the request ends. The state holds the container and
    the container the request: dropping it from the state once the request is answered breaks
    that reference cycle, so reference counting frees the request's objects at once, not the
    garbage collector, whose full collections walk every object of the process (ADR 0030)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        container = RequestContainer(request.app.state.dishka_container, request)
        state = scope.setdefault("state", {})
        state["dishka_container"] = container
        try:
            await self.app(scope, receive, send)
        except BaseException as exc:
            await container.close(exc)
            raise
        else:
            await container.close(None)
        finally:
            state.pop("dishka_container", None)


def install_request_containers(app: FastAPI, container: AsyncContainer) -> None:
    """As dishka's ``setup_dishka``, with ``RequestContainers`` as the middleware."""
    app.add_middleware(RequestContainers)
    app.state.dishka_container = container
