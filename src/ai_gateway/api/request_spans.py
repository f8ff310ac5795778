"""One server span per HTTP request, continuing the caller's W3C ``traceparent``.

Installed only when this process exports spans, so that an untraced gateway pays nothing for it.
The span is named for the route template (``POST /api/prompts``), never the path: it carries the
method, route and status, and no query string, header or body. A request the sampler leaves out
still gets its trace context (the prompt it creates keeps it, flag and all) but nothing more: what
only a recorded span would keep is not worked out for it.
"""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ai_gateway.application.tracing import tracer

_CONTEXT_HEADERS = {b"traceparent": "traceparent", b"tracestate": "tracestate"}


class RequestSpans:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            _CONTEXT_HEADERS[name]: value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _CONTEXT_HEADERS
        }
        method = scope["method"]
        span = tracer.start_span(
            method,
            propagate.extract(carrier) if carrier else None,
            SpanKind.SERVER,
            attributes={"http.request.method": method},
        )
        if not span.is_recording():
            with trace.use_span(span):
                await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with trace.use_span(span, end_on_exit=True):
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
