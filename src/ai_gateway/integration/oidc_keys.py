"""The signing keys of one OpenID Connect issuer, from its discovery document's ``jwks_uri``.

- Fetched with the shared async HTTP client, never blocking the event loop.
- Cached; refreshed after ``max_age``, and on a token whose ``kid`` is unknown.
- One refresh at a time: concurrent callers wait for the one in flight instead of starting theirs.
- At most one attempt per ``cooldown``, so neither a flood of forged ``kid``s nor a provider outage
  turns every request into a call to the provider.
- When a refresh fails, the last good key set keeps serving; with no key set at all the caller gets
  DependencyUnavailable (a 503), never a 500.
- A key the refresh finds unchanged stays the same object, so whoever remembers which key verified
  a token can tell by identity whether that key is still published.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKSetError

from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.metrics.definitions import JWKS_REFRESHES

logger = logging.getLogger("ai_gateway.oidc")

IDENTITY_PROVIDER = "identity provider"


class UnknownSigningKey(LookupError):
    """No key of the issuer has this ``kid``, even after a refresh."""


class KeySetError(ValueError):
    pass


class OidcKeys:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        authority: str,
        issuer: str,
        max_age: float,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._discovery_url = authority.rstrip("/") + "/.well-known/openid-configuration"
        self._issuer = issuer
        self._max_age = max_age
        self._cooldown = cooldown
        self._clock = clock
        self._keys: dict[str | None, PyJWK] = {}
        self._published: dict[str, tuple[dict[str, Any], PyJWK]] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def get(self, kid: str | None) -> PyJWK:
        """The key for ``kid`` (None: the issuer's only key); raises UnknownSigningKey or
        DependencyUnavailable."""
        if self._fetched_at is None or self._clock() - self._fetched_at > self._max_age:
            await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            await self._refresh()
            key = self._keys.get(kid)
        if key is None:
            if not self._keys:
                raise DependencyUnavailable(IDENTITY_PROVIDER)
            raise UnknownSigningKey(kid)
        return key

    async def check(self) -> bool:
        """Readiness: a key set is at hand (fetched now if there is none yet)."""
        if not self._keys:
            await self._refresh()
        return bool(self._keys)

    async def _refresh(self) -> None:
        seen = self._attempted_at
        async with self._lock:
            if self._attempted_at != seen:
                return  # another caller refreshed while this one waited
            now = self._clock()
            if self._attempted_at is not None and now - self._attempted_at < self._cooldown:
                return
            self._attempted_at = now
            try:
                self._keys = await self._fetch()
            except (httpx.HTTPError, KeySetError) as exc:
                JWKS_REFRESHES.labels("failed").inc()
                logger.warning("could not refresh the signing keys: %s", exc)
                return
            JWKS_REFRESHES.labels("ok").inc()
            self._fetched_at = self._clock()
            logger.info("signing keys refreshed: %s", sorted(str(k) for k in self._keys))

    async def _fetch(self) -> dict[str | None, PyJWK]:
        discovery = await self._json(self._discovery_url)
        if discovery.get("issuer") != self._issuer:
            raise KeySetError(
                f"the discovery document names another issuer: {discovery.get('issuer')!r}"
            )
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise KeySetError("the discovery document has no usable jwks_uri")
        document = await self._json(jwks_uri)
        signing = [
            k
            for k in document.get("keys", [])
            if isinstance(k, dict) and k.get("use", "sig") == "sig"
        ]
        try:
            key_set = PyJWKSet.from_dict({"keys": signing})
        except PyJWKSetError as exc:
            raise KeySetError(f"the key set has no usable signing key: {exc}") from exc
        published = {str(k["kid"]): k for k in signing if isinstance(k.get("kid"), str)}
        # A key is found by its kid; a token without kid may use the issuer's only key.
        keys: dict[str | None, PyJWK] = {}
        for key in key_set.keys:
            if key.key_id:
                known = self._published.get(key.key_id)
                unchanged = known is not None and known[0] == published.get(key.key_id)
                keys[key.key_id] = known[1] if known is not None and unchanged else key
        self._published = {
            kid: (published[kid], key)
            for kid, key in keys.items()
            if kid is not None and kid in published
        }
        if len(key_set.keys) == 1:
            keys[None] = keys.get(key_set.keys[0].key_id) or key_set.keys[0]
        return keys

    async def _json(self, url: str) -> dict[str, Any]:
        response = await self._http.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        try:
            data = response.json()
        except (ValueError, RecursionError) as exc:  # a hostile key set nests without end
            raise KeySetError(f"{url} did not answer JSON") from exc
        if not isinstance(data, dict):
            raise KeySetError(f"{url} did not answer a JSON object")
        return data
