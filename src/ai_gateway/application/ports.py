"""Ports: what the use cases need from the outside world, implemented in ``integration``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from ai_gateway.application.principal import Principal
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import JsonObject, JsonValue

T = TypeVar("T")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; ``next_cursor`` is None on the last page."""

    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """An Idempotency-Key, already scoped to its caller, and the fingerprint of its request."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What the first request with a key created."""

    prompt_id: str
    fingerprint: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PromptFilter:
    """Listing criteria; ``owner`` None lists every caller's prompts."""

    owner: str | None
    status: PromptStatus | None = None
    kind: str | None = None
    request_id: str | None = None


class InvalidCursor(ValueError):
    pass


class PromptRepository(Protocol):
    """The store of record for prompts.

    ``save`` is a compare-and-set on ``prompt.version``: it raises ConcurrencyConflict when the
    stored version moved on, and bumps ``prompt.version`` when it wins.
    """

    async def add(
        self, prompt: Prompt, idempotency: IdempotencyClaim | None = None
    ) -> IdempotencyRecord | None:
        """Store a new prompt; with a claim already taken, store nothing and return its record."""
        ...

    async def get(self, prompt_id: str) -> Prompt | None: ...

    async def save(self, prompt: Prompt) -> None: ...

    async def list(self, criteria: PromptFilter, limit: int, cursor: str | None) -> Page[Prompt]:
        """Newest first. Raises InvalidCursor for a cursor this store did not issue."""
        ...

    async def oldest(self, status: PromptStatus, limit: int) -> Sequence[Prompt]:
        """Up to ``limit`` prompts in ``status``, oldest first (for the reconciler)."""
        ...


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


class ObjectNotFound(LookupError):
    pass


class ObjectStore(Protocol):
    """Files kept on behalf of prompts (their data, its extracted files, their answers).

    Keys are relative paths such as ``prompts/<id>/original.zip``. Unreachable storage raises
    DependencyUnavailable; a missing object ObjectNotFound.
    """

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def link(self, key: str, expires: timedelta) -> str | None:
        """A time-limited URL a downstream service can GET the object from, or None when this
        store cannot give one."""
        ...


@dataclass(frozen=True, slots=True)
class GenAiRequest:
    """What a GenAI service is asked: the rendered prompt, its context and links to its data."""

    prompt_id: str
    kind: str
    prompt: str
    context: JsonObject
    data_links: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GenAiAnswer:
    content: str
    metadata: JsonObject


class GenAiProvider(Protocol):
    """A GenAI service. ``submit`` is idempotent per prompt id (a retry after a crash carries the
    same id); it returns the answer, or None when the answer will arrive later by itself.
    Raises TransientFailure or PermanentFailure."""

    name: str

    async def submit(self, request: GenAiRequest) -> GenAiAnswer | None: ...


class JobStep(StrEnum):
    PREPARE = "prepare"
    SUBMIT = "submit"
    DELIVER = "deliver"


@dataclass(frozen=True, slots=True)
class Job:
    """One step of one prompt; ``attempt`` counts tries after transient failures."""

    step: JobStep
    prompt_id: str
    attempt: int = 1

    def retry(self) -> Job:
        return Job(self.step, self.prompt_id, self.attempt + 1)


class JobQueue(Protocol):
    """Durable jobs: each is run at least once, by any worker, ``delay`` seconds from now."""

    async def enqueue(self, job: Job, delay: float = 0.0) -> None: ...


@dataclass(frozen=True, slots=True)
class FetchedData:
    content: bytes
    content_type: str


class DataSource(Protocol):
    """Downloads a prompt's data package; raises TransientFailure or PermanentFailure."""

    async def fetch(self, url: str) -> FetchedData: ...


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    path: str
    data: bytes


class ArchiveReader(Protocol):
    """The files of a data package that is an archive (checked first; PermanentFailure when
    unsafe), or None when the data is not an archive."""

    def files(self, data: bytes, content_type: str) -> Sequence[ArchiveFile] | None: ...


@dataclass(frozen=True, slots=True)
class CallbackOutcome:
    """What one delivery attempt gave: delivered, or why not and whether to try again."""

    delivered: bool
    status: str
    final: bool = False
    retry_after: float | None = None


class CallbackSender(Protocol):
    """POSTs a settled prompt's result or fault to its callback URL, signed; never raises for
    what the receiver does, only reports it."""

    async def send(self, prompt: Prompt, webhook_id: str) -> CallbackOutcome: ...


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """A CloudEvent received from another service."""

    id: str
    source: str
    type: str
    subject: str | None
    time: datetime | None
    data: JsonValue


class EventInbox(Protocol):
    """Received events, kept until handled; each (source, id) is accepted once."""

    async def store(self, event: InboundEvent) -> bool:
        """Keeps the event; False (keeping nothing) when this (source, id) was seen before."""
        ...

    async def settle(self, event: InboundEvent, outcome: str) -> None:
        """The event was handled (or will never be); ``outcome`` says how."""
        ...

    async def unsettled(self, older_than_seconds: float, limit: int) -> Sequence[InboundEvent]:
        """Events kept but not settled for a while: their handling failed and is due again."""
        ...


class IntegrationEventHandler(Protocol):
    """Handles received events of one type; raises DependencyUnavailable to be tried again."""

    event_type: str

    async def handle(self, event: InboundEvent) -> None: ...


@dataclass(frozen=True, slots=True)
class Measurement:
    name: str
    help: str
    value: float


class MetricsSource(Protocol):
    """Operational numbers read when metrics are scraped."""

    async def read(self) -> Sequence[Measurement]: ...


class HealthProbe(Protocol):
    """Answers whether one dependency is reachable now."""

    name: str

    async def check(self) -> bool: ...
