"""The operator console at ``/console``: server-rendered pages over the admin use cases.

Pages are Jinja2 templates; htmx (bundled from its pinned npm package by ``make assets``, see
``web/assets.json``) refreshes the overview. Every asset is served by the gateway itself, and
the Content-Security-Policy allows nothing else: no inline script or style, no other origin, no
framing. ADR 0024 tells why.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ai_gateway.api.console import login, operations, pages
from ai_gateway.api.console.access import ActionRefused, SignInRequired
from ai_gateway.api.console.render import page_html

PREFIX: Final = "/console"

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
_HEADERS: Final = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class ConsoleHeaders:
    """Adds the console's security headers to every response under ``/console``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _sign_in_first(request: Request, _: Exception) -> Response:
    if request.headers.get("HX-Request"):
        login_page = {"HX-Redirect": f"{PREFIX}/login"}
        return Response(status_code=status.HTTP_204_NO_CONTENT, headers=login_page)
    return RedirectResponse(f"{PREFIX}/login", status_code=status.HTTP_303_SEE_OTHER)


async def _refused(_: Request, exc: Exception) -> Response:
    html = page_html("refused.html", title="Action refused", reason=str(exc))
    return HTMLResponse(html, status_code=status.HTTP_403_FORBIDDEN)


def install_console(app: FastAPI) -> None:
    """Adds the console's pages, assets, error pages and headers to ``app``."""
    app.include_router(pages.router)
    app.include_router(login.router)
    app.include_router(operations.router)
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(
            packages=[("ai_gateway.api.console", "static"), ("ai_gateway.api", "static/htmx")]
        ),
        name="console-static",
    )
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(ActionRefused, _refused)
    app.add_middleware(ConsoleHeaders)
