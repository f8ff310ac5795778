"""The submit step at a paced provider, the worker's pacing loop, and fallbacks to other
providers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from ai_gateway.application.commands.reconcile_prompts import ReconcilePrompts
from ai_gateway.application.commands.record_response import RecordPromptResponse
from ai_gateway.application.commands.submit_prompt import SubmitPrompt
from ai_gateway.application.errors import TransientFailure
from ai_gateway.application.paced_submissions import PacedSubmissions
from ai_gateway.application.ports.genai import GenAiAnswer
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.application.ports.pacing import Permit
from ai_gateway.domain.values import TokenUsage
from tests.fakes import RoomPacer, ScriptedProvider
from tests.unit.pipeline import GENAI, RULES, Pipeline, S
from tests.waiting import until

BUSY = TransientFailure("genai_unavailable", "the GenAI service answered HTTP 429", retry_after=7)
USAGE = GenAiAnswer("fine", {}, TokenUsage(8, 4, 12))


def submit(prompt_id: str, attempt: int = 1) -> Job:
    return Job(JobStep.SUBMIT, prompt_id, attempt)


async def test_a_prompt_that_cannot_go_yet_waits_in_the_room_and_says_so() -> None:
    pacer = RoomPacer("scripted", open_=False, wait=3.0)
    p = Pipeline(pacer=pacer)
    prompt = await p.add(S.PREPARED)

    await p.mediator.send(SubmitPrompt(submit(prompt.id, 2)))

    stored = p.stored(prompt)
    assert stored.status is S.PREPARED
    assert stored.waiting_for == "provider_quota"
    assert stored.waiting_until is not None
    assert timedelta(seconds=2.9) < stored.waiting_until - p.clock.now <= timedelta(seconds=3)
    assert p.provider.requests == []
    assert p.queue.jobs == []  # the room holds it, with its attempt: none is burnt
    assert [job.attempt for job in pacer.room] == [2]


async def test_a_prompt_queues_under_the_name_its_callers_limits_go_by() -> None:
    pacer = RoomPacer("scripted", open_=False)
    p = Pipeline(pacer=pacer)
    named = await p.add(S.PREPARED, caller="reviews-app")
    unnamed = await p.add(S.PREPARED)  # stored before prompts kept their caller's name

    for prompt in (named, unnamed):
        await p.mediator.send(SubmitPrompt(submit(prompt.id)))

    assert pacer.callers == ["reviews-app", "apikey:mosaic"]


async def test_a_permit_from_the_room_submits_and_is_released_with_the_tokens_used() -> None:
    pacer = RoomPacer("scripted", open_=False)
    p = Pipeline(provider=ScriptedProvider(USAGE), pacer=pacer)
    prompt = await p.add(S.PREPARED)
    await p.mediator.send(SubmitPrompt(submit(prompt.id)))
    taken = await pacer.take("scripted")

    await p.mediator.send(SubmitPrompt(taken.job, taken.permit))  # type: ignore[arg-type]

    stored = p.stored(prompt)
    assert stored.status is S.COMPLETED
    assert (stored.provider, stored.waiting_for, stored.waiting_until) == ("scripted", None, None)
    assert pacer.released == [(Permit("scripted", prompt.id), 12)]


async def test_an_open_provider_is_called_at_once_under_a_permit() -> None:
    pacer = RoomPacer("scripted")
    p = Pipeline(provider=ScriptedProvider(USAGE), pacer=pacer)
    prompt = await p.add(S.PREPARED)

    await p.mediator.send(SubmitPrompt(submit(prompt.id)))

    assert p.stored(prompt).status is S.COMPLETED
    assert p.stored(prompt).waiting_for is None
    assert pacer.released == [(Permit("scripted", prompt.id), 12)]


async def test_a_retry_after_pauses_the_provider_and_the_permit_is_released() -> None:
    pacer = RoomPacer("scripted")
    p = Pipeline(provider=ScriptedProvider(BUSY), pacer=pacer)
    prompt = await p.add(S.PREPARED)

    await p.mediator.send(SubmitPrompt(submit(prompt.id)))

    assert pacer.pauses == [("scripted", 7)]
    assert pacer.released == [(Permit("scripted", prompt.id), 0)]
    ((job, delay),) = p.queue.jobs
    assert (job, delay >= 7) == (submit(prompt.id, 2), True)


async def test_a_permit_for_a_prompt_settled_meanwhile_is_given_back_unused() -> None:
    pacer = RoomPacer("scripted")
    p = Pipeline(pacer=pacer)
    prompt = await p.add(S.CANCELLED)

    await p.mediator.send(SubmitPrompt(submit(prompt.id), Permit("scripted", prompt.id)))

    assert p.provider.requests == []
    assert pacer.released == [(Permit("scripted", prompt.id), 0)]


async def test_a_provider_down_after_its_last_attempt_hands_the_prompt_to_the_fallback() -> None:
    fallback = ScriptedProvider(GenAiAnswer("from the fallback", {}), name="echo")
    p = Pipeline(provider=ScriptedProvider(BUSY), fallbacks=(fallback,))
    prompt = await p.add(S.PREPARED)

    await p.mediator.send(SubmitPrompt(submit(prompt.id, RULES.retry.max_attempts)))

    handed = p.stored(prompt)
    assert (handed.status, handed.provider) == (S.PREPARED, "echo")
    assert p.queue.steps() == [("submit", prompt.id, 1)]
    p.queue.jobs.clear()
    await p.mediator.send(SubmitPrompt(submit(prompt.id)))
    answered = p.stored(prompt)
    assert (answered.status, answered.provider) == (S.COMPLETED, "echo")
    assert answered.response is not None
    assert answered.response.content == "from the fallback"


async def test_the_last_provider_down_faults_the_prompt() -> None:
    fallback = ScriptedProvider(BUSY, name="echo")
    p = Pipeline(provider=ScriptedProvider(BUSY), fallbacks=(fallback,))
    prompt = await p.add(S.PREPARED)
    await p.mediator.send(SubmitPrompt(submit(prompt.id, RULES.retry.max_attempts)))
    p.queue.jobs.clear()

    await p.mediator.send(SubmitPrompt(submit(prompt.id, RULES.retry.max_attempts)))

    faulted = p.stored(prompt)
    assert (faulted.status, faulted.provider) == (S.FAULTED, "echo")
    assert faulted.fault is not None
    assert faulted.fault.code == "genai_unavailable"


async def test_the_reconciler_leaves_prompts_in_the_room_alone() -> None:
    pacer = RoomPacer("scripted", open_=False)
    p = Pipeline(pacer=pacer)
    waiting, lost = await p.add(S.PREPARED), await p.add(S.PREPARED)
    await p.mediator.send(SubmitPrompt(submit(waiting.id)))
    p.clock.now += RULES.stuck_after * 2

    await p.mediator.send(ReconcilePrompts())

    assert p.queue.steps() == [("submit", lost.id, 1)]


async def test_the_pacing_loop_submits_what_waits_in_the_room() -> None:
    pacer = RoomPacer("scripted", open_=False)
    p = Pipeline(pacer=pacer)
    prompts = [await p.add(S.PREPARED) for _ in range(3)]
    for prompt in prompts:
        await p.mediator.send(SubmitPrompt(submit(prompt.id)))
    stop = asyncio.Event()
    loop = asyncio.create_task(
        PacedSubmissions(pacer, p.mediator, concurrency=2, idle_seconds=0.01).run(stop)
    )

    await until(lambda: all(p.stored(x).status is S.COMPLETED for x in prompts), 5, "completed")
    stop.set()
    await loop

    assert [r.prompt_id for r in p.provider.requests] == [x.id for x in prompts]
    assert len(pacer.released) == 3


async def test_an_asynchronous_answer_debits_its_tokens_from_its_paced_provider() -> None:
    pacer = RoomPacer("scripted")
    p = Pipeline(provider=ScriptedProvider(None), pacer=pacer)
    prompt = await p.add(S.PREPARED)
    await p.mediator.send(SubmitPrompt(submit(prompt.id)))

    await p.mediator.send(
        RecordPromptResponse(
            prompt_id=prompt.id, content="later", metadata={}, answerer=GENAI,
            usage=TokenUsage.of(30, 12),
        )
    )  # fmt: skip

    handed_over = (Permit("scripted", prompt.id), 0)
    assert pacer.released == [handed_over, (Permit("scripted", prompt.id), 42)]
