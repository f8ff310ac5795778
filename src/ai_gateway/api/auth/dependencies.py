"""Turning request credentials into the request's Principal.

Accepted, in order: ``X-API-Key``; ``Authorization: Bearer <token>`` (handed to the configured
BearerAuthenticator); a bare key in ``Authorization``, as clients of the original sample send it.
The Principal is a request-scoped service: the composition root provides it through
``authenticate``, once per request, to the routes that ask for it.
"""

from collections.abc import Mapping
from datetime import UTC, datetime

from fastapi import Security
from fastapi.params import Depends
from fastapi.security import APIKeyHeader

from ai_gateway.api.auth.api_keys import ApiKeyAuthenticator
from ai_gateway.application.errors import Unauthenticated
from ai_gateway.application.ports.callers import CallerLog
from ai_gateway.application.ports.identity import BearerAuthenticator
from ai_gateway.application.principal import Principal

API_KEY_HEADER = "X-API-Key"

_api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="ApiKey",
    description="A key from MOSAIC_API_KEYS.",
    auto_error=False,
)
_legacy_key_scheme = APIKeyHeader(
    name="Authorization",
    scheme_name="LegacyApiKey",
    description="The bare key in Authorization, for clients of the original sample.",
    auto_error=False,
)

SECURITY_SCHEMES: list[Depends] = [Security(_api_key_scheme), Security(_legacy_key_scheme)]
"""Route dependencies that only declare the accepted schemes in the OpenAPI document."""


CHALLENGES = 'Bearer realm="ai-gateway", ApiKey realm="ai-gateway"'


class NoBearerAuthenticator:
    """Refuses every bearer token: no token issuer is configured."""

    async def authenticate(self, token: str) -> Principal:  # noqa: ARG002 - refuses all
        raise Unauthenticated(
            "bearer tokens are not accepted: no JWT authority is configured",
            scheme='Bearer realm="ai-gateway", error="invalid_token"',
        )


async def authenticate(
    headers: Mapping[str, str], keys: ApiKeyAuthenticator, bearer: BearerAuthenticator
) -> Principal:
    """The caller identified by the request headers; raises Unauthenticated."""
    api_key = headers.get(API_KEY_HEADER)
    if api_key:
        return _by_key(keys, api_key)
    authorization = headers.get("Authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token:
            return await bearer.authenticate(token.strip())
        return _by_key(keys, authorization.strip())
    raise Unauthenticated(
        "credentials are required: send X-API-Key or Authorization", scheme=CHALLENGES
    )


class Doorkeeper:
    """Who a request's caller is, noted in the caller log: the request-scoped ``Principal`` is
    provided through it, and ``DirectRoute`` asks it directly."""

    def __init__(
        self, keys: ApiKeyAuthenticator, bearer: BearerAuthenticator, callers: CallerLog
    ) -> None:
        self._keys = keys
        self._bearer = bearer
        self._callers = callers

    async def principal(self, headers: Mapping[str, str]) -> Principal:
        principal = await authenticate(headers, self._keys, self._bearer)
        await self._callers.seen(principal, datetime.now(UTC))
        return principal


def _by_key(keys: ApiKeyAuthenticator, presented: str) -> Principal:
    principal = keys.authenticate(presented)
    if principal is None:
        raise Unauthenticated("the API key is not valid", scheme='ApiKey realm="ai-gateway"')
    return principal
