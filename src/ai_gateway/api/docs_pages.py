"""Swagger UI at ``/docs``, served from the gateway's own package: no CDN, no outside favicon.

FastAPI's default page loads Swagger UI from a CDN, so it is blank wherever the browser has no
internet access. The assets are the pinned ``swagger-ui-dist`` files that ``make assets`` copies
into ``static/swagger-ui`` (see ``web/``); the OAuth2 login (authorization code with PKCE) is the
same as FastAPI's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH: Final = "/docs"
OAUTH2_REDIRECT_PATH: Final = "/docs/oauth2-redirect"
ASSETS_PATH: Final = "/docs/static"
SWAGGER_UI_ASSETS: Final = Path(__file__).parent / "static" / "swagger-ui"

SWAGGER_UI_PARAMETERS: Final[dict[str, Any]] = {
    # Swagger UI would otherwise ask validator.swagger.io to check the document.
    "validatorUrl": None,
    "persistAuthorization": False,
}


def install_docs(app: FastAPI, init_oauth: dict[str, Any] | None) -> None:
    """Adds ``/docs``, its OAuth2 redirect page and its assets; the app is built with
    ``docs_url=None`` and ``redoc_url=None`` so that no page refers to a CDN."""
    app.mount(ASSETS_PATH, StaticFiles(directory=SWAGGER_UI_ASSETS), name="swagger-ui")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_PATH,
            init_oauth=init_oauth,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
