"""Calling the caller back with a prompt's outcome: the schedule, dead letters and redelivery."""

from __future__ import annotations

import pytest

from ai_gateway.application.commands.deliver_callback import DeliverCallback, RedeliverCallback
from ai_gateway.application.commands.prepare_prompt import PreparePrompt
from ai_gateway.application.commands.submit_prompt import SubmitPrompt
from ai_gateway.application.errors import NotFound, PermanentFailure, ValidationFailed
from ai_gateway.application.ports.callbacks import CallbackOutcome
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.domain.values import DeliveryState
from tests.factories import principal
from tests.fakes import ScriptedCallbacks, ScriptedSource
from tests.unit.pipeline import Pipeline, S, completed


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
    assert p.deliveries.attempts == [("delivered", 1)]


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
    assert p.deliveries.attempts == [("retried", 1), ("retried", 2), ("dead_lettered", 3)]


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
    assert p.deliveries.attempts == [("gone", 1)]


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
