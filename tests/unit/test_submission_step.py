"""Submitting a prompt to the GenAI provider, recording its answer, and redriving stuck prompts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ai_gateway.application.commands.prepare_prompt import PreparePrompt
from ai_gateway.application.commands.reconcile_prompts import ReconcilePrompts
from ai_gateway.application.commands.record_response import RecordPromptResponse
from ai_gateway.application.commands.submit_prompt import SubmitPrompt
from ai_gateway.application.errors import (
    Forbidden,
    NotFound,
    PermanentFailure,
    TransientFailure,
    ValidationFailed,
)
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.ports.data import FetchedData
from ai_gateway.application.ports.genai import GenAiAnswer, GenAiRequest
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.domain.errors import InvalidTransition, ResponseAlreadyRecorded
from ai_gateway.domain.values import TokenUsage
from tests.factories import T0, zip_of
from tests.fakes import ScriptedProvider, ScriptedSource
from tests.unit.pipeline import GENAI, Pipeline, S


async def test_a_synchronous_answer_completes_the_prompt_and_is_kept() -> None:
    usage = TokenUsage.of(4, 1)
    p = Pipeline(provider=ScriptedProvider(GenAiAnswer("Looks right.", {"tokens": 5}, usage)))
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
    assert stored.usage == usage
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
