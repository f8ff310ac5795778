"""Credentials: checking the bearer tokens callers present, and getting tokens to call others."""

from __future__ import annotations

from typing import Protocol

from ai_gateway.application.principal import Principal


class BearerAuthenticator(Protocol):
    """Checks a bearer token; raises Unauthenticated, or DependencyUnavailable when the token
    cannot be checked now (its issuer's keys are unreachable)."""

    async def authenticate(self, token: str) -> Principal: ...


class TokenSource(Protocol):
    """Access tokens for calling a downstream service (OAuth2 client credentials)."""

    async def token(self) -> str: ...

    def invalidate(self) -> None:
        """Forget the cached token, e.g. after the downstream answered 401."""
        ...
