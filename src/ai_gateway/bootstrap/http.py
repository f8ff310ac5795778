"""The HTTP side: authentication, the request-scoped caller, and the FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

import httpx
from dishka import AsyncContainer, Provider, Scope, from_context, provide
from dishka.integrations.fastapi import FastapiProvider
from fastapi import FastAPI, Request

from ai_gateway import __version__
from ai_gateway.api.app import BearerDocs, SwaggerLogin, create_api
from ai_gateway.api.auth.api_keys import ApiKeyAuthenticator
from ai_gateway.api.auth.dependencies import Doorkeeper, NoBearerAuthenticator
from ai_gateway.api.auth.policy import (
    AdminCaller,
    EventsCaller,
    InternalCaller,
    PromptCaller,
    ScopePolicy,
)
from ai_gateway.api.controllers.app import AppInfo
from ai_gateway.api.controllers.events import Handshake
from ai_gateway.application.ports.callers import CallerLog
from ai_gateway.application.ports.identity import BearerAuthenticator
from ai_gateway.application.principal import Principal
from ai_gateway.bootstrap.console import ConsoleProvider
from ai_gateway.bootstrap.container import build_container
from ai_gateway.integration.jwt_authenticator import JwtAuthenticator, TokenRules
from ai_gateway.integration.oidc_keys import OidcKeys
from ai_gateway.integration.outbound_client import outbound_client
from ai_gateway.metrics.access import MetricsAccess
from ai_gateway.metrics.exposition import BuildInfo
from ai_gateway.settings import Settings
from ai_gateway.tracing import tracing_installed


class HttpProvider(Provider):
    """What only the HTTP side needs: authentication and the request-scoped caller."""

    scope = Scope.APP
    app_info = from_context(provides=AppInfo, scope=Scope.APP)

    @provide
    def handshake(self, settings: Settings) -> Handshake:
        return Handshake(allowed_rate=settings.events_allowed_rate)

    @provide
    def metrics_access(self, settings: Settings) -> MetricsAccess:
        token = settings.metrics_token
        return MetricsAccess(token.get_secret_value() if token else None)

    @provide
    def build_info(self, settings: Settings) -> BuildInfo:
        return BuildInfo(settings.build_revision, component="api")

    @provide
    def scope_policy(self, settings: Settings) -> ScopePolicy:
        return ScopePolicy(
            prompts=settings.required_scope,
            internal=settings.internal_scope,
            events=settings.events_scope,
            admin=settings.admin_scope,
        )

    @provide
    def api_keys(self, settings: Settings) -> ApiKeyAuthenticator:
        default = frozenset({settings.required_scope})
        return ApiKeyAuthenticator(
            (
                (k.name, k.sha256, default if k.scopes is None else frozenset(k.scopes))
                for k in settings.mosaic_api_keys
            ),
            admin_scope=settings.admin_scope,
        )

    @provide
    async def bearer(self, settings: Settings) -> AsyncIterator[BearerAuthenticator]:
        if settings.authority_base is None or settings.trusted_issuer is None:
            yield NoBearerAuthenticator()
            return
        timeout = httpx.Timeout(settings.identity_provider_timeout_seconds)
        async with outbound_client(timeout=timeout) as http:
            keys = OidcKeys(
                http,
                authority=settings.authority_base,
                issuer=settings.trusted_issuer,
                max_age=settings.jwks_max_age_seconds,
                cooldown=settings.jwks_refresh_cooldown_seconds,
            )
            rules = TokenRules(
                issuer=settings.trusted_issuer,
                audience=settings.jwt_audience,
                algorithms=frozenset(settings.jwt_algorithms),
                leeway_seconds=settings.jwt_leeway_seconds,
            )
            yield JwtAuthenticator(
                keys,
                rules,
                admin_scope=settings.admin_scope,
                cache_seconds=settings.jwt_cache_seconds,
            )

    @provide
    def doorkeeper(
        self, keys: ApiKeyAuthenticator, bearer: BearerAuthenticator, callers: CallerLog
    ) -> Doorkeeper:
        return Doorkeeper(keys, bearer, callers)

    @provide(scope=Scope.REQUEST)
    async def principal(self, request: Request, doorkeeper: Doorkeeper) -> Principal:
        return await doorkeeper.principal(request.headers)

    @provide(scope=Scope.REQUEST)
    def prompt_caller(self, principal: Principal, policy: ScopePolicy) -> PromptCaller:
        return PromptCaller(policy.admit(principal, PromptCaller))

    @provide(scope=Scope.REQUEST)
    def internal_caller(self, principal: Principal, policy: ScopePolicy) -> InternalCaller:
        return InternalCaller(policy.admit(principal, InternalCaller))

    @provide(scope=Scope.REQUEST)
    def events_caller(self, principal: Principal, policy: ScopePolicy) -> EventsCaller:
        return EventsCaller(policy.admit(principal, EventsCaller))

    @provide(scope=Scope.REQUEST)
    def admin_caller(self, principal: Principal, policy: ScopePolicy) -> AdminCaller:
        return AdminCaller(policy.admit(principal, AdminCaller))


def build_http_container(
    settings: Settings,
    *rooms: Provider,
    embedded: bool = False,
    overrides: Sequence[Provider] = (),
) -> AsyncContainer:
    info = AppInfo(
        name="ai-gateway",
        version=__version__,
        build=settings.build_revision,
        started_at=datetime.now(UTC),
        redis="embedded" if embedded else "external",
    )
    return build_container(
        settings,
        HttpProvider(),
        ConsoleProvider(),
        FastapiProvider(),
        *rooms,
        context={AppInfo: info},
        overrides=overrides,
    )


def build_http_app(
    container: AsyncContainer,
    settings: Settings,
    background: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    *,
    creations_at_once: int = 0,
) -> FastAPI:
    return create_api(
        container,
        max_request_bytes=settings.max_request_bytes,
        telemetry=settings.otel_enabled,
        traced=tracing_installed(),
        bearer=bearer_docs(settings),
        background=background,
        console=settings.console_enabled,
        creations_at_once=creations_at_once,
    )


def bearer_docs(settings: Settings) -> BearerDocs | None:
    """OpenAPI bearer documentation when JWTs are accepted; the Swagger login when its public
    client is configured. Token and authorization URLs follow Keycloak's layout unless given."""
    if settings.jwt_authority is None:
        return None
    login = None
    authority = (settings.swagger_ui_jwt_authority or settings.jwt_authority).rstrip("/")
    if settings.swagger_ui_client_id:
        login = SwaggerLogin(
            client_id=settings.swagger_ui_client_id,
            authorization_url=settings.swagger_ui_authorization_url
            or f"{authority}/protocol/openid-connect/auth",
            token_url=settings.swagger_ui_token_url or f"{authority}/protocol/openid-connect/token",
        )
    scopes = {
        "Prompts": settings.required_scope,
        "Internal": settings.internal_scope,
        "Events": settings.events_scope,
        "Admin": settings.admin_scope,
    }
    return BearerDocs(tag_scopes=scopes, login=login)
