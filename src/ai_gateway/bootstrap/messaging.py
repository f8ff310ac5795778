"""The mediator and the job dispatcher, built from the adapters and the pipeline rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from dishka import Provider, Scope, provide

from ai_gateway.application.jobs import FailureSettler, JobDispatcher, RetryPolicy
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.ports.callbacks import CallbackSender
from ai_gateway.application.ports.callers import CallerLog, ConfiguredKey
from ai_gateway.application.ports.clock import utc_now
from ai_gateway.application.ports.data import ArchiveReader, DataSource
from ai_gateway.application.ports.dead_letters import DeadLetters
from ai_gateway.application.ports.events import EventInbox
from ai_gateway.application.ports.genai import GenAiProvider
from ai_gateway.application.ports.jobs import JobQueue
from ai_gateway.application.ports.limits import BacklogGauge, CallerLimitsStore
from ai_gateway.application.ports.objects import ObjectStore
from ai_gateway.application.ports.operations import DeliveryMeter, HealthProbe
from ai_gateway.application.ports.overview import OverviewSource
from ai_gateway.application.ports.pacing import CallerShares, ProviderPacer
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.bootstrap.outside import GenAiProviders
from ai_gateway.bootstrap.registry import (
    Operations,
    PipelineRules,
    Ports,
    build_dispatcher,
    build_mediator,
)
from ai_gateway.settings import Settings


def pipeline_rules(settings: Settings) -> PipelineRules:
    return PipelineRules(
        retry=RetryPolicy(
            settings.step_max_attempts, settings.retry_base_seconds, settings.retry_max_seconds
        ),
        link_lifetime=timedelta(days=settings.s3_expiration_delta_days),
        stuck_after=timedelta(seconds=settings.stuck_after_seconds),
        answer_timeout=timedelta(seconds=settings.genai_answer_timeout_seconds),
        callback_schedule=settings.callback_retry_schedule,
        genai_answer_event_type=settings.answer_event_type,
        genai_service_identities=settings.genai_service_identities,
    )


class MessagingProvider(Provider):
    scope = Scope.APP

    @provide
    def rules(self, settings: Settings) -> PipelineRules:
        return pipeline_rules(settings)

    @provide
    def operations(
        self,
        settings: Settings,
        dead_letters: DeadLetters,
        overview: OverviewSource,
        callers: CallerLog,
        limits: CallerLimitsStore,
    ) -> Operations:
        default = frozenset({settings.required_scope})
        keys = tuple(
            ConfiguredKey(k.name, default if k.scopes is None else frozenset(k.scopes))
            for k in settings.mosaic_api_keys
        )
        return Operations(dead_letters, overview, callers, limits, keys)

    @provide
    def ports(  # noqa: PLR0913, PLR0917 - dishka injects each port as a parameter
        self,
        prompts: PromptRepository,
        queue: JobQueue,
        store: ObjectStore,
        source: DataSource,
        archives: ArchiveReader,
        provider: GenAiProvider,
        callbacks: CallbackSender,
        probes: Sequence[HealthProbe],
        inbox: EventInbox,
        providers: GenAiProviders,
        pacer: ProviderPacer,
        deliveries: DeliveryMeter,
        operations: Operations,
        limits: CallerLimitsStore,
        shares: CallerShares,
        backlog: BacklogGauge,
    ) -> Ports:
        return Ports(
            prompts, queue, store, source, archives, provider, callbacks, probes, utc_now, inbox,
            fallbacks=providers.fallbacks, pacer=pacer, shares=shares, deliveries=deliveries,
            operations=operations, limits=limits, backlog=backlog,
        )  # fmt: skip

    @provide
    def settler(self, ports: Ports, rules: PipelineRules) -> FailureSettler:
        """The one settler: steps that fail and jobs the worker gives up on end the same way."""
        return FailureSettler(ports.prompts, ports.queue, rules.retry, ports.clock)

    @provide
    def mediator(self, ports: Ports, rules: PipelineRules, settler: FailureSettler) -> Mediator:
        return build_mediator(ports, rules, settler=settler)

    @provide
    def dispatcher(self, mediator: Mediator) -> JobDispatcher:
        return build_dispatcher(mediator)
