"""The HTTP client every outbound call is made with.

httpx keeps the cookies a server sets and sends them with every later request the same client
makes to a matching domain, and one client serves many trust lines here: Mosaic's paths, other
ports of the same host, callback receivers. A cookie set on an authenticated Mosaic response would
then travel where the token may not, so the gateway's clients keep no cookies at all: it talks to
APIs, none of which needs a session.

Every request is a client span that the receiver can continue: its ``traceparent`` (and
``tracestate``) go with the request. The span says the method, the server and the status; never
the path or query, which may carry tokens.
"""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Final

import httpx
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode

from ai_gateway.application.tracing import tracer

_TRANSPORT_OPTIONS: Final = ("verify", "cert", "trust_env", "http1", "http2", "limits")


def cookieless_jar() -> CookieJar:
    """A jar that stores nothing, so it sends nothing: no domain is allowed."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def outbound_client(**options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for calls out of the gateway: no redirects unless asked, and no
    cookies kept between requests."""
    options.setdefault("follow_redirects", False)
    inner = options.pop("transport", None) or httpx.AsyncHTTPTransport(
        **{name: options.pop(name) for name in _TRANSPORT_OPTIONS if name in options}
    )
    return httpx.AsyncClient(cookies=cookieless_jar(), transport=TracedTransport(inner), **options)


class TracedTransport(httpx.AsyncBaseTransport):
    """Wraps a transport: each request in a client span, its context in the request's headers."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attributes: dict[str, str | int] = {
            "http.request.method": request.method,
            "server.address": request.url.host,
            "server.port": request.url.port or (443 if request.url.scheme == "https" else 80),
        }
        with tracer.start_as_current_span(
            request.method, kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            propagate.inject(request.headers)
            response = await self._inner.handle_async_request(request)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_status(Status(StatusCode.ERROR))
            return response

    async def aclose(self) -> None:
        await self._inner.aclose()
