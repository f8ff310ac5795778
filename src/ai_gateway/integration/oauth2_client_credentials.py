"""Access tokens for calling downstream services, by the OAuth2 client-credentials grant.

A token is cached until ``refresh_margin`` seconds before it expires; under concurrency only one
request goes to the token endpoint, the others wait for its answer. The client secret is never
logged, repr'd or put in an error.

An endpoint that cannot be reached, fails or does not answer within ``DEADLINE_SECONDS`` (a
trickling body included) is DependencyUnavailable: worth retrying. An endpoint that refuses the
client, or answers something that is not a token, is TokenRequestRefused, a PermanentFailure with
the code ``token_refused``: retrying with the same credentials cannot help.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping

import httpx

from ai_gateway.application.errors import DependencyUnavailable, PermanentFailure

logger = logging.getLogger("ai_gateway.oauth2")

_DEPENDENCY = "OAuth2 token endpoint"
DEADLINE_SECONDS = 30.0
# Bounds on a token's lifetime: a NaN, negative or absurd ``expires_in`` must not pin a token.
_MIN_LIFETIME = 0.0
_MAX_LIFETIME = 24 * 3600.0


class TokenRequestRefused(PermanentFailure):
    """The token endpoint refused the client (bad credentials, scope or audience)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__("token_refused", f"the token endpoint answered {status} {error[:100]!r}")
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
            async with asyncio.timeout(DEADLINE_SECONDS):
                response = await self._http.post(
                    self._token_url,
                    auth=(self._client_id, self._secret),
                    data={"grant_type": "client_credentials", **self._form},
                    headers={"Accept": "application/json"},
                    follow_redirects=False,  # the client secret goes to the token URL only
                )
        except (httpx.HTTPError, TimeoutError) as exc:
            raise DependencyUnavailable(_DEPENDENCY) from exc
        if response.status_code >= 500:
            raise DependencyUnavailable(_DEPENDENCY)
        try:
            body = response.json()
        except (ValueError, RecursionError):  # a hostile token endpoint nests without end
            body = None
        if not isinstance(body, dict):
            body = {}
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            error = body.get("error")
            raise TokenRequestRefused(
                response.status_code, error if isinstance(error, str) else "no token"
            )
        lifetime = _lifetime(body.get("expires_in"))
        self._token = token
        self._expires_at = self._clock() + lifetime
        logger.debug("new access token for %s, valid %.0f s", self._client_id, lifetime)
        return token


def _lifetime(expires_in: object) -> float:
    """``expires_in`` as seconds within sane bounds; 60 s when it is missing or not a number."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        return 60.0
    if not math.isfinite(expires_in):
        return 60.0
    return min(max(float(expires_in), _MIN_LIFETIME), _MAX_LIFETIME)
