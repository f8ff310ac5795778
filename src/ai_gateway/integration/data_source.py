"""Downloading a prompt's data package through the SSRF guard.

A URL under the configured Mosaic API base URL is fetched with the Mosaic API's OAuth2
client-credentials token, as the seed's MosaicApiClient does; every other URL without credentials.
"""

from __future__ import annotations

from ai_gateway.application.ports.data import FetchedData
from ai_gateway.application.ports.identity import TokenSource
from ai_gateway.integration.safe_http import SafeHttp


class GuardedDataSource:
    def __init__(
        self,
        http: SafeHttp,
        *,
        max_bytes: int,
        mosaic_base_url: str | None = None,
        mosaic_tokens: TokenSource | None = None,
    ) -> None:
        self._http = http
        self._max_bytes = max_bytes
        self._mosaic = mosaic_base_url.rstrip("/") + "/" if mosaic_base_url else None
        self._mosaic_tokens = mosaic_tokens

    def is_mosaic(self, url: str) -> bool:
        return self._mosaic is not None and url.startswith(self._mosaic)

    async def fetch(self, url: str) -> FetchedData:
        headers = {}
        if self.is_mosaic(url) and self._mosaic_tokens is not None:
            headers["Authorization"] = f"Bearer {await self._mosaic_tokens.token()}"
        fetched = await self._http.get(url, max_bytes=self._max_bytes, headers=headers)
        return FetchedData(fetched.content, fetched.content_type)
