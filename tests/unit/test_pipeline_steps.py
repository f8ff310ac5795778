"""The background steps, driven through the real mediator with in-memory ports."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest

from ai_gateway.application.commands.deliver_callback import DeliverCallback, RedeliverCallback
from ai_gateway.application.commands.prepare_prompt import PreparePrompt
from ai_gateway.application.commands.reconcile_prompts import ReconcilePrompts
from ai_gateway.application.commands.record_response import RecordPromptResponse
from ai_gateway.application.commands.submit_prompt import SubmitPrompt
from ai_gateway.application.errors import (
    DependencyUnavailable,
    Forbidden,
    NotFound,
    PermanentFailure,
    TransientFailure,
    ValidationFailed,
)
from ai_gateway.application.jobs import RetryPolicy
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.ports.callbacks import CallbackOutcome
from ai_gateway.application.ports.data import FetchedData
from ai_gateway.application.ports.genai import GenAiAnswer, GenAiRequest
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.bootstrap.registry import PipelineRules, Ports, build_mediator
from ai_gateway.domain.errors import InvalidTransition, ResponseAlreadyRecorded
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import DeliveryState
from ai_gateway.integration.zip_archive import ZipArchiveReader, ZipLimits
from tests.factories import T0, StepClock, principal, walk
from tests.fakes import (
    InMemoryPromptRepository,
    MemoryObjectStore,
    RecordingQueue,
    ScriptedCallbacks,
    ScriptedProvider,
    ScriptedSource,
)

S = PromptStatus
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
    ) -> None:
        self.repo = InMemoryPromptRepository()
        self.queue = RecordingQueue()
        self.store = MemoryObjectStore()
        self.source = source or ScriptedSource()
        self.provider = provider or ScriptedProvider()
        self.callbacks = callbacks or ScriptedCallbacks()
        self.clock = StepClock()
        self.mediator: Mediator = build_mediator(
            Ports(
                self.repo,
                self.queue,
                self.store,
                self.source,
                ZipArchiveReader(
                    ZipLimits(max_entries=100, max_total_bytes=1024 * 1024, max_ratio=100)
                ),
                self.provider,
                self.callbacks,
                clock=self.clock,
            ),
            RULES,
        )

    async def add(self, status: PromptStatus = S.CREATED, **fields: object) -> Prompt:
        prompt = Prompt.create(owner="apikey:mosaic", content="Review", at=self.clock(), **fields)  # type: ignore[arg-type]
        await self.repo.add(walk(prompt, status, self.clock()))
        return prompt

    def stored(self, prompt: Prompt) -> Prompt:
        return self.repo.prompts[prompt.id]


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def test_a_prompt_without_data_is_prepared_and_queued_for_submission() -> None:
    p = Pipeline()
    prompt = await p.add()

    await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))

    stored = p.stored(prompt)
    assert stored.status is S.PREPARED
    assert {S.PREPARING, S.PREPARED} <= set(stored.timestamps)
    assert p.queue.steps() == [("submit", prompt.id, 1)]
    assert p.source.urls == []


async def test_a_zip_is_kept_whole_and_file_by_file() -> None:
    data = zip_of({"item.json": b"{}", "media/figure.png": b"\x89PNG"})
    p = Pipeline(source=ScriptedSource(FetchedData(data, "application/zip")))
    prompt = await p.add(data_url="https://mosaic.example/item.zip")

    await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))

    prefix = f"prompts/{prompt.id}/data"
    assert p.store.objects == {
        f"{prefix}/original": data,
        f"{prefix}/files/item.json": b"{}",
        f"{prefix}/files/media/figure.png": b"\x89PNG",
    }
    assert [(o.role, o.key) for o in p.stored(prompt).objects] == [
        ("original", f"{prefix}/original"),
        ("file", f"{prefix}/files/item.json"),
        ("file", f"{prefix}/files/media/figure.png"),
    ]


async def test_data_that_is_not_an_archive_is_kept_as_it_is() -> None:
    p = Pipeline(source=ScriptedSource(FetchedData(b'{"item": 1}', "application/json")))
    prompt = await p.add(data_url="https://mosaic.example/item.json")
    await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))
    assert list(p.store.objects) == [f"prompts/{prompt.id}/data/original"]


async def test_an_unsafe_zip_faults_the_prompt_with_its_reason() -> None:
    p = Pipeline(source=ScriptedSource(FetchedData(zip_of({"../evil": b"x"}), "application/zip")))
    prompt = await p.add(data_url="https://mosaic.example/item.zip")

    await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))

    stored = p.stored(prompt)
    assert stored.status is S.FAULTED
    assert stored.fault is not None
    assert stored.fault.code == "zip_path_escape"
    assert p.store.objects == {}
    assert p.queue.jobs == []


async def test_a_transient_failure_is_retried_with_backoff() -> None:
    p = Pipeline(source=ScriptedSource(TransientFailure("timeout", "slow", retry_after=4)))
    prompt = await p.add(data_url="https://mosaic.example/item.zip")

    await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))

    ((job, delay),) = p.queue.jobs
    assert (job.step, job.attempt) == (JobStep.PREPARE, 2)
    assert delay >= 4
    assert p.stored(prompt).status is S.PREPARING


async def test_a_storage_outage_counts_as_transient() -> None:
    p = Pipeline(source=ScriptedSource(DependencyUnavailable("object storage")))
    prompt = await p.add(data_url="https://mosaic.example/item.zip")
    await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))
    assert p.queue.steps() == [("prepare", prompt.id, 2)]


async def test_the_last_attempt_faults_the_prompt() -> None:
    p = Pipeline(source=ScriptedSource(TransientFailure("connection_failed", "refused")))
    prompt = await p.add(data_url="https://mosaic.example/item.zip")

    await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id, attempt=3)))

    fault = p.stored(prompt).fault
    assert fault is not None
    assert fault.code == "connection_failed"
    assert fault.detail.startswith("gave up after 3 attempts")


async def test_a_cancelled_prompt_is_left_alone() -> None:
    p = Pipeline()
    prompt = await p.add(S.CANCELLED, data_url="https://mosaic.example/item.zip")
    await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))
    await p.mediator.send(SubmitPrompt(Job(JobStep.SUBMIT, prompt.id)))
    assert p.source.urls == []
    assert p.provider.requests == []
    assert p.queue.jobs == []


async def test_a_prepared_prompt_only_gets_its_submission_queued_again() -> None:
    p = Pipeline()
    prompt = await p.add(S.PREPARED)
    await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))
    assert p.queue.steps() == [("submit", prompt.id, 1)]


async def test_a_synchronous_answer_completes_the_prompt_and_is_kept() -> None:
    p = Pipeline(provider=ScriptedProvider(GenAiAnswer("Looks right.", {"tokens": 5})))
    prompt = await p.add(S.PREPARED, callback_url="https://mosaic.example/cb")

    await p.mediator.send(SubmitPrompt(Job(JobStep.SUBMIT, prompt.id)))

    stored = p.stored(prompt)
    assert stored.status is S.COMPLETED
    assert (
        stored.timestamps[S.PREPARED]
        < stored.timestamps[S.SUBMITTED]
        < stored.timestamps[S.COMPLETED]
    )
    assert stored.response is not None
    assert stored.response.content == "Looks right."
    kept = json.loads(p.store.objects[f"prompts/{prompt.id}/response.json"])
    assert (kept["content"], kept["sha256"]) == ("Looks right.", stored.response.sha256)
    assert p.queue.steps() == [("deliver", prompt.id, 1)]
    (request,) = p.provider.requests
    assert (request.prompt_id, request.prompt) == (prompt.id, "Review")


async def test_data_links_go_to_the_provider() -> None:
    p = Pipeline(source=ScriptedSource(FetchedData(zip_of({"a.txt": b"a"}), "application/zip")))
    prompt = await p.add(data_url="https://mosaic.example/item.zip")
    await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))
    await p.mediator.send(SubmitPrompt(Job(JobStep.SUBMIT, prompt.id)))
    (request,) = p.provider.requests
    assert [link.split("?")[0] for link in request.data_links] == [
        f"https://objects.test/prompts/{prompt.id}/data/original",
        f"https://objects.test/prompts/{prompt.id}/data/files/a.txt",
    ]


async def test_an_asynchronous_provider_leaves_the_prompt_submitted() -> None:
    p = Pipeline(provider=ScriptedProvider(None))
    prompt = await p.add(S.PREPARED)
    await p.mediator.send(SubmitPrompt(Job(JobStep.SUBMIT, prompt.id)))
    assert p.stored(prompt).status is S.SUBMITTED
    await p.mediator.send(SubmitPrompt(Job(JobStep.SUBMIT, prompt.id)))
    assert len(p.provider.requests) == 1


async def test_a_refused_prompt_faults_and_a_busy_provider_is_retried() -> None:
    refusal = PermanentFailure("genai_rejected", "too long")
    p = Pipeline(
        provider=ScriptedProvider(
            refusal, TransientFailure("genai_unavailable", "429", retry_after=30)
        )
    )
    refused, busy = await p.add(S.PREPARED), await p.add(S.PREPARED)

    await p.mediator.send(SubmitPrompt(Job(JobStep.SUBMIT, refused.id)))
    await p.mediator.send(SubmitPrompt(Job(JobStep.SUBMIT, busy.id)))

    assert p.stored(refused).status is S.FAULTED
    assert p.stored(busy).status is S.PREPARED
    ((job, delay),) = p.queue.jobs
    assert (job.prompt_id, job.attempt, delay >= 30) == (busy.id, 2, True)


async def test_an_asynchronous_answer_is_recorded_once() -> None:
    p = Pipeline()
    prompt = await p.add(S.SUBMITTED, callback_url="https://mosaic.example/cb")
    answer = RecordPromptResponse(
        prompt_id=prompt.id, content="Done.", metadata={"model": "x"}, answerer=GENAI
    )

    first = await p.mediator.send(answer)
    again = await p.mediator.send(answer)

    assert (first.duplicate, again.duplicate) == (False, True)
    assert first.sha256 == again.sha256
    assert p.stored(prompt).status is S.COMPLETED
    assert f"prompts/{prompt.id}/response.json" in p.store.objects
    assert p.queue.steps() == [("deliver", prompt.id, 1)]
    with pytest.raises(ResponseAlreadyRecorded):
        await p.mediator.send(
            RecordPromptResponse(prompt_id=prompt.id, content="Other.", metadata={}, answerer=GENAI)
        )


async def test_an_answer_for_a_prepared_prompt_proves_its_submission() -> None:
    p = Pipeline()
    prompt = await p.add(S.PREPARED)
    await p.mediator.send(
        RecordPromptResponse(prompt_id=prompt.id, content="Done.", metadata={}, answerer=GENAI)
    )
    assert {S.SUBMITTED, S.COMPLETED} <= set(p.stored(prompt).timestamps)


async def test_an_answer_for_an_unknown_or_settled_prompt_is_refused() -> None:
    p = Pipeline()
    cancelled = await p.add(S.CANCELLED)
    with pytest.raises(NotFound):
        await p.mediator.send(
            RecordPromptResponse(prompt_id="0" * 32, content="x", metadata={}, answerer=GENAI)
        )
    with pytest.raises(InvalidTransition):
        await p.mediator.send(
            RecordPromptResponse(prompt_id=cancelled.id, content="x", metadata={}, answerer=GENAI)
        )


async def test_only_the_genai_service_may_answer_and_only_within_the_size_limit() -> None:
    p = Pipeline()
    prompt = await p.add(S.SUBMITTED)
    with pytest.raises(Forbidden):
        await p.mediator.send(
            RecordPromptResponse(
                prompt_id=prompt.id, content="x", metadata={}, answerer=frozenset({"jwt:other"})
            )
        )
    with pytest.raises(Forbidden):  # no identity at all (an event kept before senders were)
        await p.mediator.send(
            RecordPromptResponse(
                prompt_id=prompt.id, content="x", metadata={}, answerer=frozenset()
            )
        )
    with pytest.raises(ValidationFailed):
        await p.mediator.send(
            RecordPromptResponse(
                prompt_id=prompt.id, content="x" * 1_000_001, metadata={}, answerer=GENAI
            )
        )
    assert p.stored(prompt).status is S.SUBMITTED


async def test_the_reconciler_redrives_stuck_prompts_and_times_out_silent_providers() -> None:
    p = Pipeline()
    stuck_created = await p.add(S.CREATED)
    stuck_prepared = await p.add(S.PREPARED)
    waiting = await p.add(S.SUBMITTED)
    p.clock.now += timedelta(minutes=10)
    fresh = await p.add(S.CREATED)

    first = await p.mediator.send(ReconcilePrompts())

    assert sorted(p.queue.steps()) == sorted(
        [("prepare", stuck_created.id, 1), ("submit", stuck_prepared.id, 1)]
    )
    assert fresh.id not in {j.prompt_id for j, _ in p.queue.jobs}
    assert (first.redriven, first.timed_out) == (2, 0)

    p.clock.now += timedelta(hours=1)
    second = await p.mediator.send(ReconcilePrompts())
    assert second.timed_out == 1
    fault = p.stored(waiting).fault
    assert fault is not None
    assert fault.code == "genai_timeout"
    assert p.clock.now > T0


async def completed(p: Pipeline, **fields: object) -> Prompt:
    prompt = await p.add(S.SUBMITTED, callback_url="https://mosaic.example/cb", **fields)
    await p.mediator.send(
        RecordPromptResponse(prompt_id=prompt.id, content="Done.", metadata={}, answerer=GENAI)
    )
    p.queue.jobs.clear()
    return prompt


async def test_a_delivered_result_moves_the_prompt_to_responded() -> None:
    p = Pipeline()
    prompt = await completed(p)

    await p.mediator.send(DeliverCallback(Job(JobStep.DELIVER, prompt.id)))

    stored = p.stored(prompt)
    assert stored.status is S.RESPONDED
    assert stored.delivery is not None
    assert (stored.delivery.state, stored.delivery.attempts, stored.delivery.last_status) == (
        DeliveryState.DELIVERED,
        1,
        "200",
    )
    assert p.callbacks.sent == [(prompt.id, "completed", f"msg_{prompt.id}")]
    await p.mediator.send(DeliverCallback(Job(JobStep.DELIVER, prompt.id)))
    assert len(p.callbacks.sent) == 1


async def test_failed_deliveries_follow_the_schedule_then_dead_letter() -> None:
    outcomes = [
        CallbackOutcome(delivered=False, status="503"),
        CallbackOutcome(delivered=False, status="429", retry_after=120),
        CallbackOutcome(delivered=False, status="timeout"),
    ]
    p = Pipeline(callbacks=ScriptedCallbacks(*outcomes))
    prompt = await completed(p)

    for attempt in (1, 2, 3):
        await p.mediator.send(DeliverCallback(Job(JobStep.DELIVER, prompt.id, attempt)))

    delays = [delay for _, delay in p.queue.jobs]
    assert [j.attempt for j, _ in p.queue.jobs] == [2, 3]
    assert 9 <= delays[0] <= 11
    assert delays[1] >= 120  # the receiver's Retry-After beats the schedule's 60 s
    delivery = p.stored(prompt).delivery
    assert delivery is not None
    assert delivery.state is DeliveryState.DEAD_LETTERED
    assert (delivery.attempts, delivery.last_status) == (3, "timeout")
    assert p.stored(prompt).status is S.COMPLETED
    assert {webhook for _, _, webhook in p.callbacks.sent} == {f"msg_{prompt.id}"}


@pytest.mark.parametrize("status", ["410", "url_refused"])
async def test_gone_or_a_refused_url_stops_at_once(status: str) -> None:
    outcome = CallbackOutcome(delivered=False, status=status, final=True)
    p = Pipeline(callbacks=ScriptedCallbacks(outcome))
    prompt = await completed(p)
    await p.mediator.send(DeliverCallback(Job(JobStep.DELIVER, prompt.id)))
    delivery = p.stored(prompt).delivery
    assert delivery is not None
    assert delivery.state is DeliveryState.DEAD_LETTERED
    assert p.queue.jobs == []


async def test_a_dead_lettered_delivery_can_be_started_again_by_its_owner() -> None:
    outcome = CallbackOutcome(delivered=False, status="410", final=True)
    p = Pipeline(callbacks=ScriptedCallbacks(outcome))
    prompt = await completed(p)
    await p.mediator.send(DeliverCallback(Job(JobStep.DELIVER, prompt.id)))

    owner = principal("mosaic")
    redelivered = await p.mediator.send(RedeliverCallback(principal=owner, prompt_id=prompt.id))
    assert redelivered.delivery is not None
    assert (redelivered.delivery.state, redelivered.delivery.attempts) == (DeliveryState.PENDING, 0)
    assert p.queue.steps() == [("deliver", prompt.id, 1)]
    await p.mediator.send(DeliverCallback(Job(JobStep.DELIVER, prompt.id)))
    assert p.stored(prompt).status is S.RESPONDED
    with pytest.raises(NotFound):
        await p.mediator.send(RedeliverCallback(principal=principal("other"), prompt_id=prompt.id))


async def test_redelivery_needs_a_callback_url_and_an_outcome() -> None:
    p = Pipeline()
    no_url = await p.add(S.COMPLETED)
    unsettled = await p.add(S.PREPARED, callback_url="https://mosaic.example/cb")
    for prompt in (no_url, unsettled):
        with pytest.raises(ValidationFailed):
            await p.mediator.send(
                RedeliverCallback(principal=principal("mosaic"), prompt_id=prompt.id)
            )


async def test_a_fault_is_called_back_too() -> None:
    p = Pipeline(source=ScriptedSource(PermanentFailure("download_failed", "404")))
    prompt = await p.add(
        data_url="https://mosaic.example/x.zip", callback_url="https://mosaic.example/cb"
    )

    await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))
    await p.mediator.send(DeliverCallback(Job(JobStep.DELIVER, prompt.id)))

    assert p.callbacks.sent == [(prompt.id, "faulted", f"msg_{prompt.id}")]
    stored = p.stored(prompt)
    assert stored.status is S.FAULTED
    assert stored.delivery is not None
    assert stored.delivery.state is DeliveryState.DELIVERED


async def test_an_answered_prompt_whose_delivery_was_never_queued_gets_it_queued() -> None:
    p = Pipeline()
    prompt = await completed(p)
    await p.mediator.send(SubmitPrompt(Job(JobStep.SUBMIT, prompt.id)))
    assert p.queue.steps() == [("deliver", prompt.id, 1)]


class AnsweredMeanwhile(ScriptedProvider):
    """A provider whose answer also arrives by itself while its reply is on the way back."""

    mediator: Mediator

    async def submit(self, request: GenAiRequest) -> GenAiAnswer | None:
        early = RecordPromptResponse(
            prompt_id=request.prompt_id, content="Early.", metadata={}, answerer=GENAI
        )
        await self.mediator.send(early)
        return await super().submit(request)


async def test_a_prompt_answered_during_its_submission_is_called_back_once() -> None:
    provider = AnsweredMeanwhile()
    p = Pipeline(provider=provider)
    provider.mediator = p.mediator
    prompt = await p.add(S.PREPARED, callback_url="https://mosaic.example/cb")

    await p.mediator.send(SubmitPrompt(Job(JobStep.SUBMIT, prompt.id)))

    stored = p.stored(prompt)
    assert stored.response is not None
    assert (stored.status, stored.response.content) == (S.COMPLETED, "Early.")
    assert p.queue.steps() == [("deliver", prompt.id, 1)]
