"""The composition root: settings → adapters → DI container → application.

Nothing here runs at import time; ``create_app`` and ``build_mediator`` are called by the CLI, the
ASGI factory and the tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import httpx
from dishka import AsyncContainer, Provider, Scope, from_context, make_async_container, provide
from dishka.integrations.fastapi import FastapiProvider
from fastapi import FastAPI, Request
from redis.asyncio import Redis

from ai_gateway import __version__
from ai_gateway.api.app import BearerDocs, SwaggerLogin, create_api
from ai_gateway.api.auth.api_keys import ApiKeyAuthenticator
from ai_gateway.api.auth.dependencies import NoBearerAuthenticator, authenticate
from ai_gateway.api.auth.policy import PromptCaller, ScopePolicy
from ai_gateway.api.controllers.app import AppInfo
from ai_gateway.application.commands.cancel_prompt import CancelPrompt, CancelPromptHandler
from ai_gateway.application.commands.create_item_prompt import (
    CreateItemPrompt,
    CreateItemPromptHandler,
)
from ai_gateway.application.commands.create_prompt import CreatePrompt, CreatePromptHandler
from ai_gateway.application.mediator import LoggingBehaviour, Mediator, ValidationBehaviour
from ai_gateway.application.ports import (
    BearerAuthenticator,
    Clock,
    HealthProbe,
    PromptRepository,
    utc_now,
)
from ai_gateway.application.principal import Principal
from ai_gateway.application.queries.check_readiness import CheckReadiness, CheckReadinessHandler
from ai_gateway.application.queries.get_prompt import GetPrompt, GetPromptHandler
from ai_gateway.application.queries.list_prompts import ListPrompts, ListPromptsHandler
from ai_gateway.integration.jwt_authenticator import JwtAuthenticator, TokenRules
from ai_gateway.integration.oidc_keys import OidcKeys
from ai_gateway.integration.redis_prompt_repository import RedisHealth, RedisPromptRepository
from ai_gateway.settings import Settings


def build_mediator(
    prompts: PromptRepository, probes: Sequence[HealthProbe], clock: Clock = utc_now
) -> Mediator:
    """The explicit handler registry, behind logging and validation."""
    mediator = Mediator([LoggingBehaviour(), ValidationBehaviour()])
    create = CreatePromptHandler(prompts, clock)
    mediator.register(CreatePrompt, create)
    mediator.register(CreateItemPrompt, CreateItemPromptHandler(create))
    mediator.register(CancelPrompt, CancelPromptHandler(prompts, clock))
    mediator.register(GetPrompt, GetPromptHandler(prompts))
    mediator.register(ListPrompts, ListPromptsHandler(prompts))
    mediator.register(CheckReadiness, CheckReadinessHandler(probes))
    return mediator


class GatewayProvider(Provider):
    """App-wide singletons shared by all requests, and the request-scoped caller."""

    scope = Scope.APP
    settings = from_context(provides=Settings, scope=Scope.APP)
    app_info = from_context(provides=AppInfo, scope=Scope.APP)

    @provide
    async def redis(self, settings: Settings) -> AsyncIterator[Redis]:
        url = settings.redis_url.get_secret_value() if settings.redis_url else ""
        client = Redis.from_url(
            url,
            decode_responses=True,
            max_connections=settings.redis_max_connections,
            socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
            health_check_interval=30,
        )
        yield client
        await client.aclose()

    @provide
    def prompts(self, redis: Redis, settings: Settings) -> PromptRepository:
        return RedisPromptRepository(
            redis,
            prefix=settings.redis_key_prefix,
            retention_seconds=settings.prompt_retention_seconds,
            idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
        )

    @provide
    def mediator(self, prompts: PromptRepository, redis: Redis) -> Mediator:
        return build_mediator(prompts, [RedisHealth(redis)])

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
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as http:
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

    @provide(scope=Scope.REQUEST)
    async def principal(
        self, request: Request, keys: ApiKeyAuthenticator, bearer: BearerAuthenticator
    ) -> Principal:
        return await authenticate(request.headers, keys, bearer)

    @provide(scope=Scope.REQUEST)
    def prompt_caller(self, principal: Principal, policy: ScopePolicy) -> PromptCaller:
        return PromptCaller(policy.require(principal, policy.prompts))


def build_container(settings: Settings, *, embedded: bool = False) -> AsyncContainer:
    info = AppInfo(
        name="ai-gateway",
        version=__version__,
        build=settings.build_revision,
        started_at=datetime.now(UTC),
        redis="embedded" if embedded else "external",
    )
    return make_async_container(
        GatewayProvider(), FastapiProvider(), context={Settings: settings, AppInfo: info}
    )


def create_app(settings: Settings | None = None, *, embedded: bool = False) -> FastAPI:
    """The ASGI application for these settings (read from the environment when omitted)."""
    settings = settings or Settings()
    if settings.redis_url is None:
        raise ValueError("REDIS_URL is not set: run `ai-gateway serve` for the embedded server")
    container = build_container(settings, embedded=embedded)
    return create_api(
        container,
        max_request_bytes=settings.max_request_bytes,
        telemetry=settings.otel_enabled,
        bearer=bearer_docs(settings),
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
    return BearerDocs(tag_scopes={"Prompts": settings.required_scope}, login=login)
