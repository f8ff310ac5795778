"""Where the gateway keeps things: Redis, the prompt store, the job queue, object storage, the
event inbox, and the readiness probes of each."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from dishka import Provider, Scope, provide
from miniopy_async.api import Minio
from pydantic import SecretStr
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.sentinel import Sentinel as SyncSentinel

from ai_gateway.application.ports.callers import CallerLog
from ai_gateway.application.ports.dead_letters import DeadLetters
from ai_gateway.application.ports.events import EventInbox
from ai_gateway.application.ports.jobs import JobQueue
from ai_gateway.application.ports.limits import BacklogGauge, CallerLimitsStore
from ai_gateway.application.ports.objects import ObjectStore
from ai_gateway.application.ports.operations import HealthProbe, MetricsSource
from ai_gateway.application.ports.overview import OverviewSource
from ai_gateway.application.ports.pacing import CallerShares, ProviderPacer
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.domain.limits import ProviderLimit
from ai_gateway.integration.event_relay import OutboxHealth
from ai_gateway.integration.local_object_store import LocalObjectStore
from ai_gateway.integration.redis_backlog import RedisBacklog
from ai_gateway.integration.redis_caller_limits import RedisCallerLimits
from ai_gateway.integration.redis_caller_log import RedisCallerLog
from ai_gateway.integration.redis_connection import (
    RedisConnection,
    RedisPool,
    RedisTls,
    RetrySeconds,
    sentinel_options,
)
from ai_gateway.integration.redis_dead_letters import RedisDeadLetters
from ai_gateway.integration.redis_errors import RedisHealth
from ai_gateway.integration.redis_event_inbox import RedisEventInbox
from ai_gateway.integration.redis_jobs import RedisJobQueue
from ai_gateway.integration.redis_metrics import RedisMetrics
from ai_gateway.integration.redis_overview import RedisOverview
from ai_gateway.integration.redis_pacing import RedisProviderPacer
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from ai_gateway.integration.redis_replication import ReplicatedWrites
from ai_gateway.integration.s3_object_store import ObjectStorageHealth, S3ObjectStore
from ai_gateway.metrics.prompts import PromptMeter
from ai_gateway.settings import Settings


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def _tls(settings: Settings) -> RedisTls:
    files = (settings.redis_tls_ca_file, settings.redis_tls_cert_file, settings.redis_tls_key_file)
    return RedisTls(*(None if path is None else str(path) for path in files))


def _sentinel_auth(settings: Settings) -> tuple[str | None, str | None]:
    return settings.redis_sentinel_username, _secret(settings.redis_sentinel_password)


def redis_connection(settings: Settings, retry_seconds: float) -> RedisConnection:
    """The one client of the process: by REDIS_URL, or the primary REDIS_SENTINELS name."""
    # A blocking pool: with every connection busy, a request waits for one (up to the
    # timeout) instead of failing at once with "Too many connections".
    pool = RedisPool(
        settings.redis_max_connections,
        settings.redis_timeout_seconds,
        retry_seconds,
        username=settings.redis_username,
        password=_secret(settings.redis_password),
    )
    tls = _tls(settings)
    if settings.redis_sentinels and settings.redis_sentinel_master:
        return RedisConnection.by_sentinel(
            settings.redis_sentinels,
            settings.redis_sentinel_master,
            pool,
            sentinel_auth=_sentinel_auth(settings),
            tls=tls if settings.redis_tls else None,
        )
    url = _secret(settings.redis_url) or ""
    return RedisConnection.by_url(url, pool, tls if url.startswith("rediss://") else None)


def redis_probe(settings: Settings, timeout: float) -> SyncRedis:
    """A synchronous client for a readiness probe outside the event loop: the same server,
    credentials and TLS as ``redis_connection``, no retries (a probe says what it sees)."""
    auth = {"username": settings.redis_username, "password": _secret(settings.redis_password)}
    options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    options |= {name: value for name, value in auth.items() if value is not None}
    tls = _tls(settings)
    if settings.redis_sentinels and settings.redis_sentinel_master:
        secure = tls if settings.redis_tls else None
        sentinel = SyncSentinel(  # type: ignore[no-untyped-call]
            list(settings.redis_sentinels),
            sentinel_kwargs=sentinel_options(timeout, _sentinel_auth(settings), secure),
        )
        client: SyncRedis = sentinel.master_for(  # type: ignore[no-untyped-call]
            settings.redis_sentinel_master,
            **options,
            **({"ssl": True, **tls.options()} if secure else {}),
        )
        return client
    url = _secret(settings.redis_url) or ""
    return SyncRedis.from_url(
        url, **options, **(tls.options() if url.startswith("rediss://") else {})
    )


class StorageProvider(Provider):
    scope = Scope.APP

    @provide
    def redis_retry(self, settings: Settings) -> RetrySeconds:
        """A request waits for Redis no longer than its timeout; the worker room waits longer."""
        return RetrySeconds(settings.redis_timeout_seconds)

    @provide
    async def redis(self, settings: Settings, retry: RetrySeconds) -> AsyncIterator[Redis]:
        connection = redis_connection(settings, retry)
        yield connection.client
        await connection.aclose()

    @provide
    def prompts(self, redis: Redis, settings: Settings, meter: PromptMeter) -> PromptRepository:
        return RedisPromptRepository(
            redis,
            prefix=settings.redis_key_prefix,
            retention_seconds=settings.prompt_retention_seconds,
            idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
            publish_events=settings.cloud_event_sink is not None,
            outbox_bound=settings.outbox_max_events,
            on_write=meter.written,
            replicated=ReplicatedWrites(
                redis,
                replicas=settings.redis_wait_replicas,
                timeout_ms=settings.redis_wait_timeout_ms,
            ),
            backlog_max=settings.backlog_max_prompts,
        )

    @provide
    def caller_limits(self, redis: Redis, settings: Settings) -> RedisCallerLimits:
        return RedisCallerLimits(
            redis,
            prefix=settings.redis_key_prefix,
            configured=settings.caller_limits,
            publish_events=settings.cloud_event_sink is not None,
        )

    @provide
    def limits_store(self, limits: RedisCallerLimits) -> CallerLimitsStore:
        return limits

    @provide
    def caller_shares(self, limits: RedisCallerLimits) -> CallerShares:
        return limits

    @provide
    def redis_backlog(self, redis: Redis, settings: Settings) -> RedisBacklog:
        return RedisBacklog(
            redis, prefix=settings.redis_key_prefix, bound=settings.backlog_max_prompts
        )

    @provide
    def backlog(self, backlog: RedisBacklog) -> BacklogGauge:
        return backlog

    @provide
    def job_queue(self, redis: Redis, settings: Settings) -> RedisJobQueue:
        return RedisJobQueue(redis, prefix=settings.redis_key_prefix)

    @provide
    def queue(self, queue: RedisJobQueue) -> JobQueue:
        return queue

    @provide
    def pacer(self, redis: Redis, settings: Settings) -> ProviderPacer:
        return RedisProviderPacer(
            redis,
            prefix=settings.redis_key_prefix,
            limits=provider_limits(settings),
            # a permit outlives the longest call, and the worker that died holding it, no longer
            lease_seconds=settings.genai_timeout_seconds + 30,
            max_pause_seconds=settings.retry_max_seconds,
        )

    @provide
    def caller_log(self, redis: Redis, settings: Settings) -> CallerLog:
        return RedisCallerLog(redis, prefix=settings.redis_key_prefix)

    @provide
    def dead_letters(self, redis: Redis, settings: Settings) -> DeadLetters:
        return RedisDeadLetters(redis, prefix=settings.redis_key_prefix)

    @provide
    def overview(self, redis: Redis, settings: Settings) -> OverviewSource:
        return RedisOverview(redis, prefix=settings.redis_key_prefix)

    @provide
    def metrics(self, redis: Redis, settings: Settings) -> MetricsSource:
        return RedisMetrics(redis, prefix=settings.redis_key_prefix)

    @provide
    def inbox(self, redis: Redis, settings: Settings) -> EventInbox:
        return RedisEventInbox(redis, prefix=settings.redis_key_prefix)

    @provide
    async def store(self, settings: Settings) -> AsyncIterator[ObjectStore]:
        server = settings.s3_server
        if server is None:
            yield LocalObjectStore(settings.data_dir.resolve() / "objects")
            return
        secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else ""
        async with Minio(
            server.netloc,
            settings.s3_access_key,
            secret,
            secure=server.secure,
            region=settings.s3_region,
        ) as client:
            yield S3ObjectStore(client, settings.s3_bucket)

    @provide
    def probes(
        self, redis: Redis, store: ObjectStore, settings: Settings, backlog: RedisBacklog
    ) -> Sequence[HealthProbe]:
        """What readiness checks: Redis always, the outbox when events are sent, the backlog
        when it is bounded, S3 when used."""
        probes: list[HealthProbe] = [RedisHealth(redis)]
        if settings.backlog_max_prompts:
            probes.append(backlog)
        if settings.cloud_event_sink:
            probes.append(
                OutboxHealth(redis, settings.redis_key_prefix, settings.outbox_max_events)
            )
        if isinstance(store, S3ObjectStore):
            probes.append(ObjectStorageHealth(store))
        return probes


def provider_limits(settings: Settings) -> dict[str, ProviderLimit]:
    """PROVIDER_LIMITS of the providers in use, the entry of the configured model first."""
    models = {"openai": settings.openai_model}
    limits = {p: settings.provider_limit(p, models.get(p)) for p in settings.providers}
    return {provider: limit for provider, limit in limits.items() if limit is not None}
