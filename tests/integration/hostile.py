"""A gateway pipeline of real adapters on a real Redis, for driving its steps against hostile peers.

Every step runs through the real job dispatcher, exactly as a worker runs it; a step that raised
would fail the test, so each test proves both that no job raises and how its prompt settled.
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis

from ai_gateway.application.jobs import JobDispatcher, RetryPolicy
from ai_gateway.application.ports.data import DataSource
from ai_gateway.application.ports.genai import GenAiProvider
from ai_gateway.application.ports.identity import TokenSource
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.application.ports.objects import ObjectStore
from ai_gateway.bootstrap.registry import PipelineRules, Ports, build_dispatcher, build_mediator
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import JsonObject
from ai_gateway.integration.data_source import GuardedDataSource
from ai_gateway.integration.genai.echo import EchoProvider
from ai_gateway.integration.mosaic_access import MosaicAccess
from ai_gateway.integration.redis_jobs import RedisJobQueue
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from ai_gateway.integration.safe_http import EgressPolicy, SafeHttp
from ai_gateway.integration.webhook_sender import SignedWebhookSender
from ai_gateway.integration.zip_archive import ZipArchiveReader, ZipLimits
from tests.idp_server import IdpServer

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
IMPATIENT = EgressPolicy(
    allow_networks=LOOPBACK, connect_timeout=0.5, read_timeout=0.5, total_timeout=1.5
)
SECRET = "whsec_" + base64.b64encode(b"hostile-peers-secret-0123456789a").decode()
LIMITS = ZipLimits(max_entries=1000, max_total_bytes=200 * 1024 * 1024, max_ratio=100)
MAX_RETRY_WAIT = 40.0  # four times the policy's longest backoff


def granted_tokens(http: httpx.AsyncClient, idp: IdpServer) -> TokenSource:
    return idp.token_source(http, "ai-gateway", "internal")


def refused_tokens(http: httpx.AsyncClient, idp: IdpServer) -> TokenSource:
    """A token source whose endpoint refuses the client: its secret is wrong."""
    return idp.token_source(http, "mosaic", "api", secret="not-the-secret-at-all")


def refused_mosaic(base_url: str, http: httpx.AsyncClient, idp: IdpServer) -> MosaicAccess:
    """Mosaic under ``base_url``, every path of it earning a token that is refused."""
    tokens = refused_tokens(http, idp)
    return MosaicAccess(base_url, tokens, data_paths=["/mosaic/**"], callback_paths=["/mosaic/**"])


class WatchedQueue(RedisJobQueue):
    """The Redis queue, noting what was queued and with which delay."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        super().__init__(redis, prefix=prefix)
        self.queued: list[tuple[Job, float]] = []

    async def enqueue(self, job: Job, delay: float = 0.0) -> None:
        self.queued.append((job, delay))
        await super().enqueue(job, delay)


@dataclass
class Gateway:
    redis: Redis
    prefix: str
    http: httpx.AsyncClient
    store: ObjectStore
    provider: GenAiProvider = field(default_factory=EchoProvider)
    mosaic: MosaicAccess | None = None
    max_attempts: int = 1
    max_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        self.prompts = RedisPromptRepository(self.redis, prefix=self.prefix)
        self.queue = WatchedQueue(self.redis, prefix=self.prefix)
        source: DataSource = GuardedDataSource(
            SafeHttp(self.http, IMPATIENT), max_bytes=self.max_bytes,
            mosaic=self.mosaic,
        )  # fmt: skip
        callbacks = SignedWebhookSender(
            SafeHttp(self.http, IMPATIENT), default_secret=SECRET, secrets={},
            source="/ai-gateway", type_prefix="ai-gateway", timeout_seconds=0.5,
            mosaic=self.mosaic,
        )  # fmt: skip
        ports = Ports(self.prompts, self.queue, self.store, source,
                      ZipArchiveReader(LIMITS), self.provider, callbacks)  # fmt: skip
        rules = PipelineRules(
            retry=RetryPolicy(max_attempts=self.max_attempts, base_seconds=1, max_seconds=10),
            link_lifetime=timedelta(days=1),
            stuck_after=timedelta(minutes=5),
            answer_timeout=timedelta(hours=1),
            callback_schedule=(0.1, 0.1),
            genai_answer_event_type="ai-gateway.genai.prompt.response.v1",
            genai_service_identities=frozenset(),
        )
        self.dispatch: JobDispatcher = build_dispatcher(build_mediator(ports, rules))

    async def add(self, context: JsonObject | None = None, **fields: str) -> Prompt:
        prompt = Prompt.create(owner="apikey:mosaic", content="Review", at=datetime.now(UTC),
                               context=context, **fields)  # type: ignore[arg-type]  # fmt: skip
        await self.prompts.add(prompt)
        return prompt

    async def run(self, step: JobStep, prompt: Prompt, attempt: int = 1) -> Prompt:
        """Runs one step of ``prompt`` as a worker would, not the step a worker would run next
        at once (tests run that themselves); a step that raised fails the test."""
        await self.dispatch(Job(step, prompt.id, attempt))
        stored = await self.prompts.get(prompt.id)
        assert stored is not None
        return stored

    async def completed(self, callback_url: str) -> Prompt:
        prompt = await self.add(callback_url=callback_url)
        await self.run(JobStep.PREPARE, prompt)
        stored = await self.run(JobStep.SUBMIT, prompt)
        assert stored.status is PromptStatus.COMPLETED, stored.fault
        return stored

    def retries(self) -> list[tuple[Job, float]]:
        """The jobs queued with a delay (retries), and their delays."""
        return [(job, delay) for job, delay in self.queue.queued if delay > 0]


def fault_code(prompt: Prompt) -> str | None:
    assert prompt.status is PromptStatus.FAULTED, prompt.status
    return None if prompt.fault is None else prompt.fault.code
