"""The background steps wired through the real mediator with in-memory ports, for step tests."""

from __future__ import annotations

from datetime import timedelta

from ai_gateway.application.commands.record_response import RecordPromptResponse
from ai_gateway.application.jobs import RetryPolicy
from ai_gateway.application.mediator import Mediator
from ai_gateway.bootstrap.registry import PipelineRules, Ports, build_mediator
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.integration.zip_archive import ZipArchiveReader, ZipLimits
from tests.factories import StepClock, walk
from tests.fakes import (
    InMemoryPromptRepository,
    MemoryObjectStore,
    RecordingDeliveryMeter,
    RecordingQueue,
    RoomPacer,
    ScriptedCallbacks,
    ScriptedProvider,
    ScriptedSource,
)

S = PromptStatus
LIMITS = ZipLimits(max_entries=100, max_total_bytes=1024 * 1024, max_ratio=100)
RULES = PipelineRules(
    retry=RetryPolicy(max_attempts=3, base_seconds=1, max_seconds=10),
    link_lifetime=timedelta(days=1),
    stuck_after=timedelta(minutes=5),
    answer_timeout=timedelta(hours=1),
    callback_schedule=(10.0, 60.0),
    genai_answer_event_type="ai-gateway.genai.prompt.response.v1",
    genai_service_identities=frozenset({"client:genai"}),
)
GENAI = frozenset({"jwt:svc-account", "client:genai"})


class Pipeline:
    def __init__(
        self,
        *,
        source: ScriptedSource | None = None,
        provider: ScriptedProvider | None = None,
        callbacks: ScriptedCallbacks | None = None,
        fallbacks: tuple[ScriptedProvider, ...] = (),
        pacer: RoomPacer | None = None,
    ) -> None:
        self.queue = RecordingQueue()
        self.repo = InMemoryPromptRepository(queue=self.queue)
        self.store = MemoryObjectStore()
        self.source = source or ScriptedSource()
        self.provider = provider or ScriptedProvider()
        self.callbacks = callbacks or ScriptedCallbacks()
        self.clock = StepClock()
        self.deliveries = RecordingDeliveryMeter()
        self.mediator: Mediator = build_mediator(
            Ports(
                self.repo,
                self.queue,
                self.store,
                self.source,
                ZipArchiveReader(LIMITS),
                self.provider,
                self.callbacks,
                clock=self.clock,
                fallbacks=fallbacks,
                pacer=pacer,
                deliveries=self.deliveries,
            ),
            RULES,
        )

    async def add(self, status: PromptStatus = S.CREATED, **fields: object) -> Prompt:
        prompt = Prompt.create(owner="apikey:mosaic", content="Review", at=self.clock(), **fields)  # type: ignore[arg-type]
        await self.repo.add(walk(prompt, status, self.clock()))
        return prompt

    def stored(self, prompt: Prompt) -> Prompt:
        return self.repo.prompts[prompt.id]


async def completed(p: Pipeline, **fields: object) -> Prompt:
    """A prompt answered by the GenAI service, its callback owed; the queue starts empty."""
    prompt = await p.add(S.SUBMITTED, callback_url="https://mosaic.example/cb", **fields)
    await p.mediator.send(
        RecordPromptResponse(prompt_id=prompt.id, content="Done.", metadata={}, answerer=GENAI)
    )
    p.queue.jobs.clear()
    return prompt
