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


class OperatorSignIn(Protocol):
    """The authorization code flow with PKCE (RFC 7636) at the identity provider, for a person
    signing in to the console; raises DependencyUnavailable when the provider cannot be reached,
    Unauthenticated when it refuses the code."""

    async def authorization_url(self, *, state: str, challenge: str, redirect_uri: str) -> str:
        """Where to send the browser to sign in (S256 code challenge)."""
        ...

    async def access_token(self, *, code: str, verifier: str, redirect_uri: str) -> str:
        """The access token the provider gives for ``code`` and its verifier."""
        ...
