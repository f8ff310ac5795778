"""Times every HTTP request by route template, method and status class."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ai_gateway.metrics.definitions import HTTP_DURATION
from ai_gateway.metrics.labels import method, status_class

UNMATCHED = "unmatched"
"""The route of requests no route took (404s, bodies refused before routing)."""


class HttpMetrics:
    """ASGI middleware; the router leaves the matched route in the scope, whose path template
    (``/api/prompts/{prompt_id}``) is the label, never the path itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._bound: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            self._child(route, scope["method"], status).observe(time.perf_counter() - started)

    def _child(self, route: str, verb: str, status: int) -> Any:
        key = (route, method(verb), status)
        child = self._bound.get(key)
        if child is None:
            child = self._bound[key] = HTTP_DURATION.labels(route, key[1], status_class(status))
        return child
