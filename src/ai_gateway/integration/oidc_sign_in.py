"""An operator's sign-in at the OpenID Connect provider: authorization code with PKCE (S256).

The console is a public client of the provider (no secret: the same kind of client as the Swagger
UI's), so the code is bound to the sign-in by the PKCE verifier alone, which never leaves the
server side of the console. The endpoints come from the issuer's discovery document, read once
and kept; the browser is sent to ``authorization_endpoint``, the code is exchanged at
``token_endpoint`` from the gateway.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import httpx

from ai_gateway.application.errors import DependencyUnavailable, Unauthenticated
from ai_gateway.integration.oidc_keys import IDENTITY_PROVIDER


class OidcSignIn:
    def __init__(
        self, http: httpx.AsyncClient, *, authority: str, client_id: str, scope: str
    ) -> None:
        self._http = http
        self._discovery_url = authority.rstrip("/") + "/.well-known/openid-configuration"
        self._client_id = client_id
        self._scope = scope
        self._endpoints: tuple[str, str] | None = None
        self._lock = asyncio.Lock()

    async def authorization_url(self, *, state: str, challenge: str, redirect_uri: str) -> str:
        authorize, _ = await self._discovered()
        query = {
            "client_id": self._client_id, "response_type": "code", "scope": self._scope,
            "redirect_uri": redirect_uri, "state": state,
            "code_challenge": challenge, "code_challenge_method": "S256",
        }  # fmt: skip
        separator = "&" if "?" in authorize else "?"
        return f"{authorize}{separator}{urlencode(query)}"

    async def access_token(self, *, code: str, verifier: str, redirect_uri: str) -> str:
        _, token_url = await self._discovered()
        form = {
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": self._client_id, "code_verifier": verifier,
        }  # fmt: skip
        try:
            response = await self._http.post(token_url, data=form)
        except httpx.HTTPError:
            raise DependencyUnavailable(IDENTITY_PROVIDER) from None
        if response.status_code >= 500:
            raise DependencyUnavailable(IDENTITY_PROVIDER)
        body = _json(response)
        token = body.get("access_token") if response.status_code == 200 else None
        if not isinstance(token, str) or not token:
            raise Unauthenticated("the identity provider did not accept the sign-in")
        return token

    async def _discovered(self) -> tuple[str, str]:
        async with self._lock:
            if self._endpoints is None:
                try:
                    response = await self._http.get(self._discovery_url)
                except httpx.HTTPError:
                    raise DependencyUnavailable(IDENTITY_PROVIDER) from None
                document = _json(response) if response.status_code == 200 else {}
                authorize = document.get("authorization_endpoint")
                token = document.get("token_endpoint")
                if not isinstance(authorize, str) or not isinstance(token, str):
                    raise DependencyUnavailable(IDENTITY_PROVIDER)
                self._endpoints = (authorize, token)
            return self._endpoints


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
