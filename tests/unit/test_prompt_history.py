"""A prompt's history and timeline, and an operator's retry of a FAULTED prompt."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ai_gateway.domain.errors import InvalidTransition
from ai_gateway.domain.events import PromptActionTaken, PromptRetried, lifecycle_steps
from ai_gateway.domain.history import Action, ActionName
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import Delivery, DeliveryState, Fault, ObjectRef
from tests.factories import T0, prompt_in, walk

S = PromptStatus
LATER = T0 + timedelta(minutes=5)


def test_the_timeline_has_every_step_with_how_long_it_lasted() -> None:
    prompt = Prompt.create(owner="apikey:mosaic", content="x", at=T0)
    prompt.start_preparing(T0 + timedelta(seconds=2))
    prompt.mark_prepared(T0 + timedelta(seconds=5))

    steps = [(s.status, s.seconds) for s in prompt.timeline]

    assert steps == [(S.CREATED, 2.0), (S.PREPARING, 3.0), (S.PREPARED, None)]


def test_a_fault_during_preparation_is_retried_from_preparation() -> None:
    prompt = Prompt.create(owner="apikey:mosaic", content="x", at=T0)
    prompt.start_preparing(T0 + timedelta(seconds=1))
    prompt.fail(Fault("data_unavailable", "404"), T0 + timedelta(seconds=2))
    prompt.pull_events()

    resumed = prompt.retry(LATER)

    assert resumed is S.CREATED
    assert prompt.status is S.CREATED
    assert prompt.fault is None
    assert prompt.created_at == T0
    assert set(prompt.timestamps) == {S.CREATED}
    assert [s.status for s in prompt.timeline] == ["created", "preparing", "faulted", "created"]
    assert prompt.pull_events() == [PromptRetried(prompt_id=prompt.id, occurred_at=LATER,
                                                  resumed_at="created")]  # fmt: skip


def test_a_fault_after_preparation_is_retried_from_submission_keeping_the_data() -> None:
    prompt = prompt_in(S.PREPARED)
    prompt.objects = (ObjectRef("data", "k", 1, "application/zip"),)
    walk(prompt, S.FAULTED, T0 + timedelta(seconds=2))

    assert prompt.retry(LATER) is S.PREPARED
    assert prompt.objects
    assert S.PREPARED in prompt.timestamps


@pytest.mark.parametrize("status", [S.CREATED, S.SUBMITTED, S.COMPLETED, S.CANCELLED])
def test_only_a_faulted_prompt_can_be_retried(status: PromptStatus) -> None:
    prompt = prompt_in(status)
    with pytest.raises(InvalidTransition):
        prompt.retry(LATER)
    assert prompt.status is status


def test_a_callback_made_for_the_fault_is_made_again_under_a_new_webhook_id() -> None:
    prompt = prompt_in(S.FAULTED)
    prompt.callback_url = "https://mosaic.example/cb"
    made = Delivery(f"msg_{prompt.id}").attempted("204", T0, state=DeliveryState.DELIVERED)
    prompt.record_delivery(made)

    prompt.retry(LATER)

    assert prompt.delivery is not None
    assert prompt.delivery.webhook_id == f"msg_{prompt.id}_r1"
    assert prompt.delivery.state is DeliveryState.PENDING
    assert [a.status for a in prompt.callback_attempts] == ["204"]
    assert not prompt.awaits_delivery


def test_an_action_is_kept_with_who_and_when_and_published() -> None:
    prompt = prompt_in(S.SUBMITTED)

    prompt.record_action(ActionName.CANCEL, "jwt:operator", LATER)

    assert prompt.history == [Action(ActionName.CANCEL, "jwt:operator", LATER)]
    assert prompt.pull_events() == [
        PromptActionTaken(
            prompt_id=prompt.id, occurred_at=LATER, action="cancel", actor="jwt:operator"
        )
    ]


def test_every_callback_attempt_is_kept_across_a_redelivery() -> None:
    first = Delivery("msg_1").attempted("503", T0, state=DeliveryState.PENDING, next_at=LATER)
    dead = first.attempted("timeout", LATER, state=DeliveryState.DEAD_LETTERED)

    again = dead.restarted().attempted("204", LATER, state=DeliveryState.DELIVERED)

    assert [(a.status_code, a.error) for a in again.log] == [
        (503, None), (None, "timeout"), (204, None)
    ]  # fmt: skip
    assert again.log[0].next_attempt_at == LATER
    assert again.attempts == 1


def test_each_step_of_the_timeline_names_the_lifecycle_event_it_published() -> None:
    prompt = Prompt.create(owner="apikey:mosaic", content="x", at=T0)
    walk(prompt, S.FAULTED, T0 + timedelta(seconds=1))
    prompt.retry(LATER)
    walk(prompt, S.RESPONDED, LATER + timedelta(seconds=1))

    published = [e.step for e in prompt.pull_events() if not isinstance(e, PromptActionTaken)]
    assert lifecycle_steps([s.status for s in prompt.timeline]) == tuple(published)
    assert "retried" in published
