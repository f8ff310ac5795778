"""One chain of delivery attempts per prompt: stale jobs send nothing, lost workers stop nothing."""

from __future__ import annotations

import pytest

from ai_gateway.application.commands.deliver_callback import DeliverCallback, RedeliverCallback
from ai_gateway.application.errors import ConcurrencyConflict
from ai_gateway.application.jobs import FailureSettler
from ai_gateway.application.ports.callbacks import CallbackOutcome
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.application.prompt_changes import SAVE_ATTEMPTS
from ai_gateway.domain.values import DeliveryState
from tests.factories import principal
from tests.fakes import ScriptedCallbacks
from tests.unit.pipeline import RULES, Pipeline, S, completed

REFUSED = CallbackOutcome(delivered=False, status="503")


def deliver(prompt_id: str, attempt: int) -> DeliverCallback:
    return DeliverCallback(Job(JobStep.DELIVER, prompt_id, attempt))


async def test_a_worker_lost_before_saving_an_attempt_leaves_the_chain_going() -> None:
    p = Pipeline(callbacks=ScriptedCallbacks(REFUSED, REFUSED))
    prompt = await completed(p)

    p.repo.conflicts_to_raise = SAVE_ATTEMPTS  # the first attempt's outcome is never saved
    with pytest.raises(ConcurrencyConflict):
        await p.mediator.send(deliver(prompt.id, 1))
    assert p.stored(prompt).delivery is None
    assert p.queue.steps() == [("deliver", prompt.id, 2)]  # the retry is queued all the same

    await p.mediator.send(deliver(prompt.id, 1))  # the unacknowledged job runs again
    for _ in range(2):  # the retry, queued twice now
        await p.mediator.send(deliver(prompt.id, 2))

    delivery = p.stored(prompt).delivery
    assert delivery is not None
    assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 2)
    assert len(p.callbacks.sent) == 3  # attempt 1 twice (at least once), attempt 2 once
    assert p.stored(prompt).status is S.RESPONDED


async def test_a_job_for_an_attempt_already_made_sends_nothing() -> None:
    p = Pipeline(callbacks=ScriptedCallbacks(REFUSED))
    prompt = await completed(p)
    await p.mediator.send(deliver(prompt.id, 1))

    await p.mediator.send(deliver(prompt.id, 1))  # a duplicate of the attempt made

    assert len(p.callbacks.sent) == 1
    await p.mediator.send(deliver(prompt.id, 3))  # ahead of the chain: the next attempt is due
    assert len(p.callbacks.sent) == 2
    delivery = p.stored(prompt).delivery
    assert delivery is not None
    assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 2)


async def test_a_redelivery_leaves_a_delivery_under_way_as_it_is() -> None:
    p = Pipeline(callbacks=ScriptedCallbacks(REFUSED))
    prompt = await completed(p)
    await p.mediator.send(deliver(prompt.id, 1))
    owner = principal("mosaic")

    for _ in range(3):
        redelivered = await p.mediator.send(RedeliverCallback(principal=owner, prompt_id=prompt.id))
        assert redelivered.delivery is not None
        assert redelivered.delivery.attempts == 1  # not restarted
    assert p.queue.steps() == [("deliver", prompt.id, 2)]  # the scheduled retry, nothing more

    p.queue.jobs.clear()  # the retry was lost: a redelivery queues the attempt that is due
    await p.mediator.send(RedeliverCallback(principal=owner, prompt_id=prompt.id))
    assert p.queue.steps() == [("deliver", prompt.id, 2)]


async def test_a_delivery_job_that_died_dead_letters_the_delivery_unless_the_chain_went_on() -> (
    None
):
    p = Pipeline(callbacks=ScriptedCallbacks(REFUSED))
    prompt = await completed(p)
    await p.mediator.send(deliver(prompt.id, 1))  # attempt 1 made, attempt 2 queued
    settler = FailureSettler(p.repo, p.queue, RULES.retry, p.clock)

    await settler.dead_letter(Job(JobStep.DELIVER, prompt.id, 1))
    assert p.stored(prompt).current_delivery.state is DeliveryState.PENDING

    await settler.dead_letter(Job(JobStep.DELIVER, prompt.id, 2))
    delivery = p.stored(prompt).current_delivery
    assert (delivery.state, delivery.attempts, delivery.last_status) == (
        DeliveryState.DEAD_LETTERED,
        2,
        "internal_error",
    )
    assert p.stored(prompt).status is S.COMPLETED
