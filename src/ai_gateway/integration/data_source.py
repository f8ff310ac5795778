"""Downloading a prompt's data package through the SSRF guard.

A URL on a configured Mosaic data-package path is fetched with the Mosaic API's OAuth2
client-credentials token, as the seed's MosaicApiClient does; every other URL, and every hop of a
redirect that leaves Mosaic's origin, without credentials.
"""

from __future__ import annotations

from ai_gateway.application.ports.data import FetchedData
from ai_gateway.integration.mosaic_access import MosaicAccess
from ai_gateway.integration.safe_http import SafeHttp


class GuardedDataSource:
    def __init__(
        self, http: SafeHttp, *, max_bytes: int, mosaic: MosaicAccess | None = None
    ) -> None:
        self._http = http
        self._max_bytes = max_bytes
        self._mosaic = mosaic

    async def fetch(self, url: str) -> FetchedData:
        credentials = self._mosaic.data_headers if self._mosaic else None
        fetched = await self._http.get(url, max_bytes=self._max_bytes, credentials=credentials)
        return FetchedData(fetched.content, fetched.content_type)
