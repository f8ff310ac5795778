"""The composition root: settings → adapters → DI container → application and workers.

Nothing here runs at import time; ``create_app``, ``run_worker`` and ``build_mediator`` are called
by the CLI, the ASGI factory and the tests.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from dishka import AsyncContainer, Provider, Scope, from_context, make_async_container, provide
from dishka.integrations.fastapi import FastapiProvider
from fastapi import FastAPI, Request
from miniopy_async.api import Minio
from pydantic import SecretStr
from redis.asyncio import BlockingConnectionPool, Redis

from ai_gateway import __version__
from ai_gateway.api.app import BearerDocs, SwaggerLogin, create_api
from ai_gateway.api.auth.api_keys import ApiKeyAuthenticator
from ai_gateway.api.auth.dependencies import NoBearerAuthenticator, authenticate
from ai_gateway.api.auth.policy import EventsCaller, InternalCaller, PromptCaller, ScopePolicy
from ai_gateway.api.controllers.app import AppInfo
from ai_gateway.api.controllers.events import Handshake
from ai_gateway.application.commands.cancel_prompt import CancelPrompt, CancelPromptHandler
from ai_gateway.application.commands.create_item_prompt import (
    CreateItemPrompt,
    CreateItemPromptHandler,
)
from ai_gateway.application.commands.create_prompt import CreatePrompt, CreatePromptHandler
from ai_gateway.application.commands.deliver_callback import (
    SVIX_SCHEDULE,
    DeliverCallback,
    DeliverCallbackHandler,
    RedeliverCallback,
    RedeliverCallbackHandler,
)
from ai_gateway.application.commands.ingest_events import (
    IngestEvents,
    IngestEventsHandler,
    RetryUnsettledEvents,
    RetryUnsettledEventsHandler,
)
from ai_gateway.application.commands.prepare_prompt import PreparePrompt, PreparePromptHandler
from ai_gateway.application.commands.reconcile_prompts import (
    ReconcilePrompts,
    ReconcilePromptsHandler,
)
from ai_gateway.application.commands.record_response import (
    RecordPromptResponse,
    RecordPromptResponseHandler,
)
from ai_gateway.application.commands.submit_prompt import SubmitPrompt, SubmitPromptHandler
from ai_gateway.application.events.genai_answer_received import GenAiAnswerReceived
from ai_gateway.application.jobs import FailureSettler, JobDispatcher, RetryPolicy
from ai_gateway.application.mediator import LoggingBehaviour, Mediator, ValidationBehaviour
from ai_gateway.application.ports.callbacks import CallbackSender
from ai_gateway.application.ports.clock import Clock, utc_now
from ai_gateway.application.ports.data import ArchiveReader, DataSource
from ai_gateway.application.ports.events import EventInbox
from ai_gateway.application.ports.genai import GenAiProvider
from ai_gateway.application.ports.identity import BearerAuthenticator, TokenSource
from ai_gateway.application.ports.jobs import Job, JobQueue, JobStep
from ai_gateway.application.ports.objects import ObjectStore
from ai_gateway.application.ports.operations import HealthProbe, MetricsSource
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.principal import Principal
from ai_gateway.application.queries.check_readiness import CheckReadiness, CheckReadinessHandler
from ai_gateway.application.queries.get_prompt import GetPrompt, GetPromptHandler
from ai_gateway.application.queries.list_prompts import ListPrompts, ListPromptsHandler
from ai_gateway.domain.values import Fault
from ai_gateway.integration.data_source import GuardedDataSource
from ai_gateway.integration.event_relay import EventRelay, OutboxHealth
from ai_gateway.integration.genai.echo import EchoProvider
from ai_gateway.integration.genai.genai_api import GenAiApiProvider
from ai_gateway.integration.genai.openai_compatible import OpenAiCompatibleProvider
from ai_gateway.integration.jwt_authenticator import JwtAuthenticator, TokenRules
from ai_gateway.integration.local_object_store import LocalObjectStore
from ai_gateway.integration.oauth2_client_credentials import ClientCredentialsTokenSource
from ai_gateway.integration.oidc_keys import OidcKeys
from ai_gateway.integration.redis_event_inbox import RedisEventInbox
from ai_gateway.integration.redis_jobs import JobWorker, RedisJobQueue, run_periodically
from ai_gateway.integration.redis_metrics import RedisMetrics
from ai_gateway.integration.redis_prompt_repository import RedisHealth, RedisPromptRepository
from ai_gateway.integration.s3_object_store import ObjectStorageHealth, S3ObjectStore
from ai_gateway.integration.safe_http import EgressPolicy, SafeHttp, parse_networks
from ai_gateway.integration.webhook_sender import SignedWebhookSender
from ai_gateway.integration.zip_archive import ZipArchiveReader, ZipLimits
from ai_gateway.settings import Settings

logger = logging.getLogger("ai_gateway")


@dataclass(frozen=True, slots=True)
class Ports:
    """Everything the use cases need from outside; tests pass fakes."""

    prompts: PromptRepository
    queue: JobQueue
    store: ObjectStore
    source: DataSource
    archives: ArchiveReader
    provider: GenAiProvider
    callbacks: CallbackSender
    probes: Sequence[HealthProbe] = ()
    clock: Clock = utc_now
    inbox: EventInbox | None = None


@dataclass(frozen=True, slots=True)
class PipelineRules:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    link_lifetime: timedelta = timedelta(days=1)
    stuck_after: timedelta = timedelta(minutes=5)
    answer_timeout: timedelta = timedelta(hours=1)
    callback_schedule: tuple[float, ...] = SVIX_SCHEDULE
    genai_answer_event_type: str = "ai-gateway.genai.prompt.response.v1"


def build_mediator(ports: Ports, rules: PipelineRules | None = None) -> Mediator:
    """The explicit handler registry, behind logging and validation."""
    rules = rules or PipelineRules()
    p, clock = ports, ports.clock
    settler = FailureSettler(p.prompts, p.queue, rules.retry, clock)
    mediator = Mediator([LoggingBehaviour(), ValidationBehaviour()])
    create = CreatePromptHandler(p.prompts, p.queue, clock)
    mediator.register(CreatePrompt, create)
    mediator.register(CreateItemPrompt, CreateItemPromptHandler(create))
    mediator.register(CancelPrompt, CancelPromptHandler(p.prompts, clock))
    mediator.register(GetPrompt, GetPromptHandler(p.prompts))
    mediator.register(ListPrompts, ListPromptsHandler(p.prompts))
    mediator.register(CheckReadiness, CheckReadinessHandler(p.probes))
    mediator.register(
        PreparePrompt,
        PreparePromptHandler(p.prompts, p.queue, p.source, p.archives, p.store, settler, clock),
    )
    mediator.register(
        SubmitPrompt,
        SubmitPromptHandler(
            p.prompts, p.queue, p.provider, p.store, settler, clock, rules.link_lifetime
        ),
    )
    record = RecordPromptResponseHandler(p.prompts, p.queue, p.store, clock)
    mediator.register(RecordPromptResponse, record)
    if p.inbox is not None:
        ingest = IngestEventsHandler(
            p.inbox, [GenAiAnswerReceived(rules.genai_answer_event_type, record)]
        )
        mediator.register(IngestEvents, ingest)
        mediator.register(RetryUnsettledEvents, RetryUnsettledEventsHandler(p.inbox, ingest))
    mediator.register(
        DeliverCallback,
        DeliverCallbackHandler(p.prompts, p.queue, p.callbacks, clock, rules.callback_schedule),
    )
    mediator.register(RedeliverCallback, RedeliverCallbackHandler(p.prompts, p.queue))
    mediator.register(
        ReconcilePrompts,
        ReconcilePromptsHandler(
            p.prompts,
            p.queue,
            settler,
            clock,
            stuck_after=rules.stuck_after,
            answer_timeout=rules.answer_timeout,
        ),
    )
    return mediator


def build_dispatcher(mediator: Mediator) -> JobDispatcher:
    return JobDispatcher(
        mediator,
        {
            JobStep.PREPARE: PreparePrompt,
            JobStep.SUBMIT: SubmitPrompt,
            JobStep.DELIVER: DeliverCallback,
        },
    )


def _client_credentials(
    http: httpx.AsyncClient,
    token_url: str,
    client_id: str,
    secret: str,
    scope: str | None,
    resource: str | None = None,
) -> ClientCredentialsTokenSource:
    return ClientCredentialsTokenSource(
        http,
        token_url=token_url,
        client_id=client_id,
        client_secret=secret,
        scope=scope,
        parameters={"resource": resource} if resource else None,
    )


def _mosaic_tokens(http: httpx.AsyncClient, settings: Settings) -> TokenSource | None:
    """The Mosaic API's client-credentials tokens, when a Mosaic client is configured."""
    secret = settings.mosaic_client_secret
    if not (settings.mosaic_client_id and settings.mosaic_token_url and secret):
        return None
    return _client_credentials(
        http,
        settings.mosaic_token_url,
        settings.mosaic_client_id,
        secret.get_secret_value(),
        settings.mosaic_scope,
    )


class GatewayProvider(Provider):
    """App-wide singletons: storage, queue, adapters, the mediator. Used by API and workers."""

    scope = Scope.APP
    settings = from_context(provides=Settings, scope=Scope.APP)

    @provide
    async def redis(self, settings: Settings) -> AsyncIterator[Redis]:
        url = settings.redis_url.get_secret_value() if settings.redis_url else ""
        # A blocking pool: with every connection busy, a request waits for one (up to the
        # timeout) instead of failing at once with "Too many connections".
        pool = BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            max_connections=settings.redis_max_connections,
            timeout=settings.redis_timeout_seconds,
            socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
            health_check_interval=30,
        )
        client = Redis(connection_pool=pool)
        yield client
        await client.aclose()
        await pool.aclose()

    @provide
    def prompts(self, redis: Redis, settings: Settings) -> PromptRepository:
        return RedisPromptRepository(
            redis,
            prefix=settings.redis_key_prefix,
            retention_seconds=settings.prompt_retention_seconds,
            idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
            publish_events=settings.cloud_event_sink is not None,
            outbox_bound=settings.outbox_max_events,
        )

    @provide
    def job_queue(self, redis: Redis, settings: Settings) -> RedisJobQueue:
        return RedisJobQueue(redis, prefix=settings.redis_key_prefix)

    @provide
    def queue(self, queue: RedisJobQueue) -> JobQueue:
        return queue

    @provide
    def metrics(self, redis: Redis, settings: Settings) -> MetricsSource:
        return RedisMetrics(redis, prefix=settings.redis_key_prefix)

    @provide
    async def store(self, settings: Settings) -> AsyncIterator[ObjectStore]:
        if not settings.s3_endpoint:
            yield LocalObjectStore(settings.data_dir.resolve() / "objects")
            return
        split = urlsplit(
            settings.s3_endpoint if "://" in settings.s3_endpoint else f"//{settings.s3_endpoint}"
        )
        secure = settings.s3_secure if settings.s3_secure is not None else split.scheme == "https"
        secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else ""
        async with Minio(
            split.netloc, settings.s3_access_key, secret, secure=secure, region=settings.s3_region
        ) as client:
            yield S3ObjectStore(client, settings.s3_bucket)

    @provide
    async def source(self, settings: Settings) -> AsyncIterator[DataSource]:
        policy = EgressPolicy(
            allow_networks=parse_networks(settings.egress_allow_cidrs),
            read_timeout=settings.download_timeout_seconds,
            total_timeout=settings.download_total_seconds,
        )
        async with httpx.AsyncClient(follow_redirects=False) as http:
            yield GuardedDataSource(
                SafeHttp(http, policy),
                max_bytes=settings.data_max_bytes,
                mosaic_base_url=settings.mosaic_base_url,
                mosaic_tokens=_mosaic_tokens(http, settings),
            )

    @provide
    async def callbacks(self, settings: Settings) -> AsyncIterator[CallbackSender]:
        policy = EgressPolicy(allow_networks=parse_networks(settings.egress_allow_cidrs))
        secret = settings.callback_signing_secret
        if secret is None:
            logger.warning("CALLBACK_SIGNING_SECRET is not set: callbacks are signed with a secret "
                           "of this process only, which no client can know")  # fmt: skip
            secret = SecretStr("whsec_" + base64.b64encode(os.urandom(32)).decode())
        async with httpx.AsyncClient(follow_redirects=False) as http:
            yield SignedWebhookSender(
                SafeHttp(http, policy),
                default_secret=secret.get_secret_value(),
                secrets={
                    o: s.get_secret_value() for o, s in settings.owner_callback_secrets().items()
                },
                source=settings.cloud_event_source,
                type_prefix=settings.cloud_event_type_prefix,
                timeout_seconds=settings.callback_timeout_seconds,
                mosaic_base_url=settings.mosaic_base_url,
                mosaic_tokens=_mosaic_tokens(http, settings),
            )

    @provide
    def archives(self, settings: Settings) -> ArchiveReader:
        return ZipArchiveReader(
            ZipLimits(
                settings.zip_max_entries, settings.zip_max_total_bytes, settings.zip_max_ratio
            )
        )

    @provide
    async def provider(self, settings: Settings) -> AsyncIterator[GenAiProvider]:
        if settings.genai_provider == "echo":
            yield EchoProvider()
            return
        async with httpx.AsyncClient(timeout=settings.genai_timeout_seconds) as http:
            if settings.genai_provider == "openai":
                key = (
                    settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
                )
                yield OpenAiCompatibleProvider(
                    http,
                    base_url=settings.openai_base_url or "",
                    api_key=key,
                    model=settings.openai_model,
                )
                return
            secret = settings.genai_api_client_secret
            tokens = _client_credentials(
                http,
                settings.genai_api_token_url or "",
                settings.genai_api_client_id or "",
                secret.get_secret_value() if secret else "",
                settings.genai_api_scope,
                settings.genai_api_resource,
            )
            public = (settings.gateway_public_url or "").rstrip("/")
            yield GenAiApiProvider(
                http,
                url=settings.genai_api_url or "",
                tokens=tokens,
                answer_url=public + "/api/internal/prompts/{prompt_id}/response",
            )

    @provide
    def mediator(  # noqa: PLR0913, PLR0917 - dishka injects each port as a parameter
        self,
        settings: Settings,
        prompts: PromptRepository,
        queue: JobQueue,
        store: ObjectStore,
        source: DataSource,
        archives: ArchiveReader,
        provider: GenAiProvider,
        callbacks: CallbackSender,
        redis: Redis,
    ) -> Mediator:
        probes: list[HealthProbe] = [RedisHealth(redis)]
        if settings.cloud_event_sink:
            probes.append(
                OutboxHealth(redis, settings.redis_key_prefix, settings.outbox_max_events)
            )
        if isinstance(store, S3ObjectStore):
            probes.append(ObjectStorageHealth(store))
        inbox = RedisEventInbox(redis, prefix=settings.redis_key_prefix)
        ports = Ports(
            prompts, queue, store, source, archives, provider, callbacks, probes, inbox=inbox
        )
        rules = PipelineRules(
            retry=RetryPolicy(
                settings.step_max_attempts, settings.retry_base_seconds, settings.retry_max_seconds
            ),
            link_lifetime=timedelta(days=settings.s3_expiration_delta_days),
            stuck_after=timedelta(seconds=settings.stuck_after_seconds),
            answer_timeout=timedelta(seconds=settings.genai_answer_timeout_seconds),
            callback_schedule=settings.callback_schedule(),
            genai_answer_event_type=settings.genai_answer_event_type
            or f"{settings.cloud_event_type_prefix}.genai.prompt.response.v1",
        )
        return build_mediator(ports, rules)

    @provide
    def worker(
        self,
        settings: Settings,
        redis: Redis,
        queue: RedisJobQueue,
        mediator: Mediator,
        prompts: PromptRepository,
    ) -> JobWorker:
        settler = FailureSettler(prompts, queue, RetryPolicy(), utc_now)

        async def on_dead(job: Job) -> None:
            detail = f"the {job.step.value} step failed repeatedly inside the gateway"
            await settler.fault(job.prompt_id, Fault("internal_error", detail))

        return JobWorker(
            redis,
            queue,
            build_dispatcher(mediator),
            on_dead,
            concurrency=settings.worker_concurrency,
            claim_idle=settings.job_claim_idle_seconds,
            max_deliveries=settings.job_max_deliveries,
        )


class HttpProvider(Provider):
    """What only the HTTP side needs: authentication and the request-scoped caller."""

    scope = Scope.APP
    app_info = from_context(provides=AppInfo, scope=Scope.APP)

    @provide
    def handshake(self, settings: Settings) -> Handshake:
        return Handshake(allowed_rate=settings.events_allowed_rate)

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

    @provide(scope=Scope.REQUEST)
    def internal_caller(self, principal: Principal, policy: ScopePolicy) -> InternalCaller:
        return InternalCaller(policy.require(principal, policy.internal))

    @provide(scope=Scope.REQUEST)
    def events_caller(self, principal: Principal, policy: ScopePolicy) -> EventsCaller:
        return EventsCaller(policy.require(principal, policy.events))


def build_container(settings: Settings, *, embedded: bool = False) -> AsyncContainer:
    info = AppInfo(
        name="ai-gateway",
        version=__version__,
        build=settings.build_revision,
        started_at=datetime.now(UTC),
        redis="embedded" if embedded else "external",
    )
    return make_async_container(
        GatewayProvider(),
        HttpProvider(),
        FastapiProvider(),
        context={Settings: settings, AppInfo: info},
    )


def build_worker_container(settings: Settings) -> AsyncContainer:
    """The container of a worker process: no HTTP, no authentication."""
    return make_async_container(GatewayProvider(), context={Settings: settings})


async def run_worker(container: AsyncContainer, settings: Settings, stop: asyncio.Event) -> None:
    """Works jobs, and takes a turn at the reconciler, until ``stop`` is set."""
    worker = await container.get(JobWorker)
    mediator = await container.get(Mediator)
    redis = await container.get(Redis)

    async def reconcile() -> None:
        await mediator.send(ReconcilePrompts())
        await mediator.send(RetryUnsettledEvents())

    async with httpx.AsyncClient(timeout=10) as http:
        loops = [
            worker.run(stop),
            run_periodically(
                redis,
                f"{settings.redis_key_prefix}:reconciler",
                settings.reconcile_interval_seconds,
                reconcile,
                stop,
            ),
        ]
        if settings.cloud_event_sink:
            relay = EventRelay(
                redis,
                http,
                prefix=settings.redis_key_prefix,
                sink=settings.cloud_event_sink,
                source=settings.cloud_event_source,
                type_prefix=settings.cloud_event_type_prefix,
                mode=settings.cloud_event_mode,
            )
            loops.append(relay.run(stop))
        await asyncio.gather(*loops)


def create_app(settings: Settings | None = None, *, embedded: bool = False) -> FastAPI:
    """The ASGI application for these settings (read from the environment when omitted).

    With ``SERVE_WORKER`` (on by default for the embedded set-up) the worker runs in the same
    process, next to the API."""
    settings = settings or Settings()
    if settings.redis_url is None:
        raise ValueError("REDIS_URL is not set: run `ai-gateway serve` for the embedded server")
    container = build_container(settings, embedded=embedded)
    in_process = settings.serve_worker if settings.serve_worker is not None else embedded

    @asynccontextmanager
    async def background() -> AsyncIterator[None]:
        if not in_process:
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(container, settings, stop), name="worker")
        try:
            yield
        finally:
            stop.set()
            await task

    return create_api(
        container,
        max_request_bytes=settings.max_request_bytes,
        telemetry=settings.otel_enabled,
        bearer=bearer_docs(settings),
        background=background,
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
    }
    return BearerDocs(tag_scopes=scopes, login=login)
