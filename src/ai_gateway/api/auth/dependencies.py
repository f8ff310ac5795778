"""The FastAPI dependency that turns request credentials into a Principal.

Accepted, in order: ``X-API-Key``; ``Authorization: Bearer <token>`` (handed to the configured
BearerAuthenticator); a bare key in ``Authorization``, as clients of the original sample send it.
"""

from typing import Annotated, Protocol

from dishka import FromDishka
from dishka.integrations.fastapi import inject
from fastapi import Depends, Security
from fastapi.security import APIKeyHeader

from ai_gateway.api.auth.api_keys import ApiKeyAuthenticator
from ai_gateway.application.errors import Unauthenticated
from ai_gateway.application.principal import Principal

api_key_header = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    description="A key from MOSAIC_API_KEYS.",
    auto_error=False,
)
legacy_key_header = APIKeyHeader(
    name="Authorization",
    scheme_name="LegacyApiKey",
    description="The bare key in Authorization, for clients of the original sample.",
    auto_error=False,
)


class BearerAuthenticator(Protocol):
    async def authenticate(self, token: str) -> Principal: ...


class NoBearerAuthenticator:
    """Refuses every bearer token: no token issuer is configured."""

    async def authenticate(self, token: str) -> Principal:  # noqa: ARG002 - refuses all
        raise Unauthenticated(
            "bearer tokens are not accepted: no JWT authority is configured",
            scheme='Bearer error="invalid_token"',
        )


@inject
async def authenticate(
    keys: FromDishka[ApiKeyAuthenticator],
    bearer: FromDishka[BearerAuthenticator],
    api_key: Annotated[str | None, Security(api_key_header)] = None,
    authorization: Annotated[str | None, Security(legacy_key_header)] = None,
) -> Principal:
    if api_key:
        return _by_key(keys, api_key)
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token:
            return await bearer.authenticate(token.strip())
        return _by_key(keys, authorization.strip())
    raise Unauthenticated("credentials are required: send X-API-Key or Authorization")


def _by_key(keys: ApiKeyAuthenticator, presented: str) -> Principal:
    principal = keys.authenticate(presented)
    if principal is None:
        raise Unauthenticated("the API key is not valid")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
