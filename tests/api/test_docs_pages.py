"""Swagger UI is served from the gateway's own package, so /docs works without internet access."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from ai_gateway.api.docs_pages import SWAGGER_UI_ASSETS

pytestmark = pytest.mark.integration

WEB = Path(__file__).parents[2] / "web"


def _referenced(page: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", page) + re.findall(
        r"""url: ["']([^"']+)["']""", page
    )


async def test_docs_refer_only_to_the_gateway_itself(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text

    urls = _referenced(page)
    assert "/docs/static/swagger-ui-bundle.js" in urls
    assert "/docs/static/swagger-ui.css" in urls
    assert all(url.startswith("/") for url in urls), urls
    assert "cdn" not in page
    assert "fastapi.tiangolo.com" not in page
    assert '"validatorUrl": null' in page


async def test_every_asset_the_page_needs_is_served_as_shipped(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text

    for url in (u for u in _referenced(page) if u.startswith("/docs/static/")):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert response.content == (SWAGGER_UI_ASSETS / url.rsplit("/", 1)[1]).read_bytes()


async def test_the_oauth2_redirect_page_is_served_and_redoc_is_not(
    client: httpx.AsyncClient,
) -> None:
    redirect = await client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200
    assert "opener" in redirect.text
    assert (await client.get("/redoc")).status_code == 404


def test_the_shipped_assets_are_the_pinned_packages_files() -> None:
    """`make assets` copies them; a copy edited by hand or left behind an upgrade fails here."""
    subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=WEB, check=True,
    )  # fmt: skip
    manifest = json.loads((WEB / "assets.json").read_text())
    for package, wanted in manifest.items():
        shipped = SWAGGER_UI_ASSETS.parent / wanted["into"]
        assert sorted(p.name for p in shipped.iterdir()) == sorted(
            Path(name).name for name in wanted["files"]
        )
        for name in wanted["files"]:
            pinned = WEB / "node_modules" / package / name
            assert (shipped / Path(name).name).read_bytes() == pinned.read_bytes(), name
