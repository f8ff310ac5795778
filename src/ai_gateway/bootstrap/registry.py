"""The explicit handler registry: which handler answers which message, behind which behaviours.

Tests build a mediator here from fakes; the container builds the same one from adapters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from ai_gateway.application.commands.cancel_prompt import CancelPrompt, CancelPromptHandler
from ai_gateway.application.commands.create_item_prompt import (
    CreateItemPrompt,
    CreateItemPromptHandler,
)
from ai_gateway.application.commands.create_prompt import CreatePrompt, CreatePromptHandler
from ai_gateway.application.commands.deliver_callback import (
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
from ai_gateway.application.commands.requeue_dead_letters import (
    RequeueDeadLetters,
    RequeueDeadLettersHandler,
)
from ai_gateway.application.commands.retry_prompt import RetryPrompt, RetryPromptHandler
from ai_gateway.application.commands.set_caller_limits import (
    SetCallerLimits,
    SetCallerLimitsHandler,
)
from ai_gateway.application.commands.submit_prompt import (
    Pacing,
    SubmitPrompt,
    SubmitPromptHandler,
)
from ai_gateway.application.events.dispatcher import EventDispatcher
from ai_gateway.application.events.genai_answer_received import GenAiAnswerReceived
from ai_gateway.application.jobs import FailureSettler, JobDispatcher, RetryPolicy
from ai_gateway.application.mediator import LoggingBehaviour, Mediator, ValidationBehaviour
from ai_gateway.application.ports.callbacks import CallbackSender
from ai_gateway.application.ports.callers import CallerLog, ConfiguredKey
from ai_gateway.application.ports.clock import Clock, utc_now
from ai_gateway.application.ports.data import ArchiveReader, DataSource
from ai_gateway.application.ports.dead_letters import DeadLetters
from ai_gateway.application.ports.events import EventInbox
from ai_gateway.application.ports.genai import GenAiProvider
from ai_gateway.application.ports.jobs import JobQueue, JobStep
from ai_gateway.application.ports.limits import BacklogGauge, CallerLimitsStore
from ai_gateway.application.ports.objects import ObjectStore
from ai_gateway.application.ports.operations import DeliveryMeter, HealthProbe
from ai_gateway.application.ports.overview import OverviewSource
from ai_gateway.application.ports.pacing import CallerShares, EqualShares, ProviderPacer
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.prompt_files import PromptFiles
from ai_gateway.application.queries.check_readiness import CheckReadiness, CheckReadinessHandler
from ai_gateway.application.queries.get_caller_limits import (
    GetCallerLimits,
    GetCallerLimitsHandler,
)
from ai_gateway.application.queries.get_my_limits import GetMyLimits, GetMyLimitsHandler
from ai_gateway.application.queries.get_overview import GetOverview, GetOverviewHandler
from ai_gateway.application.queries.get_prompt import GetPrompt, GetPromptHandler
from ai_gateway.application.queries.list_callers import ListCallers, ListCallersHandler
from ai_gateway.application.queries.list_dead_letters import (
    ListDeadLetters,
    ListDeadLettersHandler,
)
from ai_gateway.application.queries.list_prompts import ListPrompts, ListPromptsHandler
from ai_gateway.application.queries.prompt_downloads import (
    GetPromptDownloads,
    GetPromptDownloadsHandler,
)


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
    fallbacks: Sequence[GenAiProvider] = ()
    pacer: ProviderPacer | None = None
    shares: CallerShares = field(default_factory=EqualShares)
    deliveries: DeliveryMeter | None = None
    operations: Operations | None = None
    limits: CallerLimitsStore | None = None
    backlog: BacklogGauge | None = None


@dataclass(frozen=True, slots=True)
class Operations:
    """What the admin API reads beyond the prompts: dead letters, counters, callers seen and
    their limits."""

    dead_letters: DeadLetters
    overview: OverviewSource
    callers: CallerLog
    limits: CallerLimitsStore
    api_keys: tuple[ConfiguredKey, ...] = ()


@dataclass(frozen=True, slots=True)
class PipelineRules:
    """How the pipeline paces itself; built from settings, which hold every default."""

    retry: RetryPolicy
    link_lifetime: timedelta
    stuck_after: timedelta
    answer_timeout: timedelta
    callback_schedule: tuple[float, ...]
    genai_answer_event_type: str
    genai_service_identities: frozenset[str]


def build_mediator(
    ports: Ports, rules: PipelineRules, *, settler: FailureSettler | None = None
) -> Mediator:
    """Every handler, behind logging and validation. ``settler`` is the one the worker shares
    for jobs that die; without it the mediator gets its own, from ``rules.retry``."""
    p, clock = ports, ports.clock
    settler = settler or FailureSettler(p.prompts, p.queue, rules.retry, clock)
    files = PromptFiles(p.store)
    mediator = Mediator([LoggingBehaviour(), ValidationBehaviour()])
    mediator.register(CreatePrompt, CreatePromptHandler(p.prompts, clock, p.limits))
    mediator.register(CreateItemPrompt, CreateItemPromptHandler(mediator))
    mediator.register(CancelPrompt, CancelPromptHandler(p.prompts, clock))
    mediator.register(GetPrompt, GetPromptHandler(p.prompts))
    mediator.register(ListPrompts, ListPromptsHandler(p.prompts))
    mediator.register(
        GetPromptDownloads, GetPromptDownloadsHandler(p.prompts, p.store, rules.link_lifetime)
    )
    mediator.register(CheckReadiness, CheckReadinessHandler(p.probes, p.backlog))
    if p.limits is not None:
        mediator.register(GetMyLimits, GetMyLimitsHandler(p.limits))
        mediator.register(GetCallerLimits, GetCallerLimitsHandler(p.limits))
        mediator.register(SetCallerLimits, SetCallerLimitsHandler(p.limits))
    pacing = None if p.pacer is None else Pacing(p.pacer, p.shares)
    providers = (p.provider, *p.fallbacks)
    submit = SubmitPromptHandler(
        p.prompts, p.queue, providers, files, settler, clock, rules.link_lifetime, pacing
    )
    mediator.register(
        PreparePrompt,
        PreparePromptHandler(
            p.prompts, p.queue, p.source, p.archives, files, settler, clock, submit.submits_at_once
        ),
    )
    mediator.register(SubmitPrompt, submit)
    record = RecordPromptResponseHandler(
        p.prompts, p.queue, files, clock, rules.genai_service_identities, p.pacer
    )
    mediator.register(RecordPromptResponse, record)
    if p.inbox is not None:
        answers = GenAiAnswerReceived(rules.genai_answer_event_type, mediator)
        events = EventDispatcher(
            p.inbox,
            [answers],
            senders={rules.genai_answer_event_type: rules.genai_service_identities},
        )
        mediator.register(IngestEvents, IngestEventsHandler(p.inbox, events))
        mediator.register(RetryUnsettledEvents, RetryUnsettledEventsHandler(p.inbox, events))
    mediator.register(
        DeliverCallback,
        DeliverCallbackHandler(
            p.prompts, p.queue, p.callbacks, clock, rules.callback_schedule, p.deliveries
        ),
    )
    mediator.register(RedeliverCallback, RedeliverCallbackHandler(p.prompts, p.queue, clock))
    mediator.register(RetryPrompt, RetryPromptHandler(p.prompts, p.queue, clock))
    if p.operations is not None:
        _register_operations(mediator, p.operations, p.prompts, clock)
    mediator.register(
        ReconcilePrompts,
        ReconcilePromptsHandler(
            p.prompts,
            p.queue,
            settler,
            clock,
            stuck_after=rules.stuck_after,
            answer_timeout=rules.answer_timeout,
            pacer=p.pacer,
        ),
    )
    return mediator


def _register_operations(
    mediator: Mediator, ops: Operations, prompts: PromptRepository, clock: Clock
) -> None:
    mediator.register(ListDeadLetters, ListDeadLettersHandler(ops.dead_letters, prompts))
    mediator.register(RequeueDeadLetters, RequeueDeadLettersHandler(mediator, ops.dead_letters))
    mediator.register(GetOverview, GetOverviewHandler(ops.overview, mediator, clock))
    mediator.register(ListCallers, ListCallersHandler(ops.callers, ops.api_keys, ops.limits))


def build_dispatcher(mediator: Mediator) -> JobDispatcher:
    return JobDispatcher(
        mediator,
        {
            JobStep.PREPARE: PreparePrompt,
            JobStep.SUBMIT: SubmitPrompt,
            JobStep.DELIVER: DeliverCallback,
        },
    )
