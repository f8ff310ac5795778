"""Access tokens for calling downstream services, by the OAuth2 client-credentials grant.

A token is cached until ``refresh_margin`` seconds before it expires; under concurrency only one
request goes to the token endpoint, the others wait for its answer. The client secret is never
logged, repr'd or put in an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

import httpx

from ai_gateway.application.errors import DependencyUnavailable

logger = logging.getLogger("ai_gateway.oauth2")

_DEPENDENCY = "OAuth2 token endpoint"


class TokenRequestRefused(Exception):
    """The token endpoint refused the client (bad credentials, scope or audience)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"the token endpoint answered {status} {error}")
        self.status = status
        self.error = error


class ClientCredentialsTokenSource:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        parameters: Mapping[str, str] | None = None,
        refresh_margin: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._client_id = client_id
        self._secret = client_secret
        # ``parameters``: what else the provider wants, e.g. {"resource": ...} or {"audience": ...}
        self._form = {**(parameters or {}), **({"scope": scope} if scope else {})}
        self._margin = refresh_margin
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(client_id={self._client_id!r}, token_url={self._token_url!r})"
        )

    def _fresh(self) -> str | None:
        if self._token is not None and self._clock() < self._expires_at - self._margin:
            return self._token
        return None

    async def token(self) -> str:
        token = self._fresh()
        if token is not None:
            return token
        async with self._lock:
            return self._fresh() or await self._request()

    def invalidate(self) -> None:
        self._token = None

    async def _request(self) -> str:
        try:
            response = await self._http.post(
                self._token_url,
                auth=(self._client_id, self._secret),
                data={"grant_type": "client_credentials", **self._form},
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise DependencyUnavailable(_DEPENDENCY) from exc
        if response.status_code >= 500:
            raise DependencyUnavailable(_DEPENDENCY)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body.get("access_token"), str):
            error = body.get("error") if isinstance(body.get("error"), str) else "no token"
            raise TokenRequestRefused(response.status_code, error)
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 60.0
        self._token = body["access_token"]
        self._expires_at = self._clock() + lifetime
        logger.debug("new access token for %s, valid %.0f s", self._client_id, lifetime)
        return self._token
