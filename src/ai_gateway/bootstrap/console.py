"""The operator console's wiring: its session keys, who may enter, and the sign-in at the
identity provider."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
from dishka import Provider, Scope, provide

from ai_gateway.api.auth.api_keys import ApiKeyAuthenticator
from ai_gateway.api.console.access import ConsoleAccess
from ai_gateway.api.console.render import Pages
from ai_gateway.api.console.session import SessionCookies, SessionPolicy
from ai_gateway.application.ports.identity import BearerAuthenticator, OperatorSignIn
from ai_gateway.integration.oidc_sign_in import OidcSignIn
from ai_gateway.integration.outbound_client import outbound_client
from ai_gateway.settings import Settings


def console_client_id(settings: Settings) -> str | None:
    """The console's public client at the identity provider: CONSOLE_CLIENT_ID, else the Swagger
    UI's (one public client serves both)."""
    if settings.jwt_authority is None:
        return None
    return settings.console_client_id or settings.swagger_ui_client_id


class ConsoleProvider(Provider):
    scope = Scope.APP

    @provide
    def cookies(self, settings: Settings) -> SessionCookies:
        # Without a configured secret, sessions last as long as this process (and only it can
        # read them): fine for one process, and CONSOLE_SESSION_SECRET shares them between many.
        secret = settings.console_session_secret
        policy = SessionPolicy(
            secret=secret.get_secret_value() if secret else secrets.token_urlsafe(32),
            lifetime_seconds=settings.console_session_seconds,
            idle_seconds=settings.console_idle_seconds,
        )
        return SessionCookies(policy)

    @provide
    def pages(self, cookies: SessionCookies, settings: Settings) -> Pages:
        published = settings.cloud_event_sink is not None
        return Pages(cookies, settings.cloud_event_type_prefix if published else None)

    @provide
    async def operator_sign_in(self, settings: Settings) -> AsyncIterator[OperatorSignIn | None]:
        client_id = console_client_id(settings)
        if settings.authority_base is None or client_id is None:
            yield None
            return
        timeout = httpx.Timeout(settings.identity_provider_timeout_seconds)
        async with outbound_client(timeout=timeout) as http:
            yield OidcSignIn(
                http,
                authority=settings.authority_base,
                client_id=client_id,
                scope=f"{settings.required_scope} {settings.admin_scope}",
            )

    @provide
    def access(
        self,
        settings: Settings,
        keys: ApiKeyAuthenticator,
        bearer: BearerAuthenticator,
        oidc: OperatorSignIn | None,
        cookies: SessionCookies,
    ) -> ConsoleAccess:
        return ConsoleAccess(
            admin_scope=settings.admin_scope,
            admin_role=settings.console_admin_role,
            keys=keys,
            bearer=bearer,
            oidc=oidc,
            cookies=cookies,
            key_sign_in=bool(settings.mosaic_api_keys),
            public_url=settings.gateway_public_url,
        )
