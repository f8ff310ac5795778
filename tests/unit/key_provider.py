"""An OpenID provider in process: discovery and JWKS through httpx's mock transport, for the
key-cache and authenticator unit tests."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.idp_server import SigningKey

ISSUER = "https://idp.example/realms/r"


def public(key: SigningKey) -> dict[str, str]:
    return {
        k: v for k, v in key.private_jwk().items() if k in {"kty", "n", "e", "kid", "alg", "use"}
    }


class Provider:
    """Serves discovery and JWKS, counts the calls, and can go down."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.calls = 0
        self.up = True
        self.issuer = ISSUER
        self.key_set: bytes | None = None  # served instead of the keys

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path.endswith("/.well-known/openid-configuration"):
            self.calls += 1
            return httpx.Response(200, json={"issuer": self.issuer, "jwks_uri": ISSUER + "/certs"})
        await asyncio.sleep(0)  # hand over to the concurrent callers, which queue up meanwhile
        document = json.dumps({"keys": [public(k) for k in self.keys]}).encode()
        return httpx.Response(200, content=self.key_set or document)
