from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest

from ai_gateway.domain import events
from ai_gateway.domain.errors import InvalidPromptData, InvalidTransition, ResponseAlreadyRecorded
from ai_gateway.domain.prompt import TERMINAL, TRANSITIONS, Prompt, PromptStatus
from ai_gateway.domain.values import (
    Fault,
    ObjectRef,
    PromptResponse,
    canonical_json,
)
from tests.factories import T0, prompt_in

S = PromptStatus
AT = T0 + timedelta(minutes=5)
ANSWER = PromptResponse.of("Looks good", {"tokens": 12}, AT)

MOVES: dict[PromptStatus, Callable[[Prompt], object]] = {
    S.PREPARING: lambda p: p.start_preparing(AT),
    S.PREPARED: lambda p: p.mark_prepared(AT),
    S.SUBMITTED: lambda p: p.mark_submitted(AT),
    S.COMPLETED: lambda p: p.record_response(ANSWER),
    S.RESPONDED: lambda p: p.mark_responded(AT),
    S.CANCELLED: lambda p: p.cancel(AT),
    S.FAULTED: lambda p: p.fail(Fault("genai_timeout", "no answer in 300 s"), AT),
}
EVENT_FOR = {
    S.PREPARING: events.PromptPreparationStarted,
    S.PREPARED: events.PromptDataProcessed,
    S.SUBMITTED: events.PromptSubmitted,
    S.COMPLETED: events.PromptResponseReceived,
    S.RESPONDED: events.PromptResponded,
    S.CANCELLED: events.PromptCancelled,
    S.FAULTED: events.PromptFaulted,
}
ALL_MOVES = list(itertools.product(PromptStatus, MOVES))
ALLOWED = [(a, b) for a, b in ALL_MOVES if b in TRANSITIONS[a]]
FORBIDDEN = [(a, b) for a, b in ALL_MOVES if b not in TRANSITIONS[a]]


def test_a_new_prompt_is_created_with_a_32_hex_id_and_a_received_event() -> None:
    prompt = Prompt.create(owner="apikey:mosaic", content="hi", at=T0)

    assert len(prompt.id) == 32
    assert int(prompt.id, 16) >= 0
    assert prompt.status is S.CREATED
    assert prompt.timestamps == {S.CREATED: T0}
    assert prompt.pull_events() == [events.PromptReceived(prompt_id=prompt.id, occurred_at=T0)]
    assert prompt.pull_events() == []


def test_the_table_lets_every_prompt_reach_a_terminal_status() -> None:
    for status in PromptStatus:
        assert status in TERMINAL or TRANSITIONS[status] & {S.CANCELLED, S.FAULTED}


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_an_allowed_transition_moves_stamps_and_records_one_event(
    current: PromptStatus, target: PromptStatus
) -> None:
    prompt = prompt_in(current)

    MOVES[target](prompt)

    assert prompt.status is target
    assert prompt.timestamps[target] == AT
    recorded = prompt.pull_events()
    assert [type(e) for e in recorded] == [EVENT_FOR[target]]
    assert recorded[0].prompt_id == prompt.id
    assert recorded[0].occurred_at == AT


@pytest.mark.parametrize(("current", "target"), FORBIDDEN)
def test_a_forbidden_transition_raises_and_changes_nothing(
    current: PromptStatus, target: PromptStatus
) -> None:
    prompt = prompt_in(current)
    before = (prompt.status, dict(prompt.timestamps), prompt.fault, prompt.response)
    # A prompt that holds an answer refuses another before the table is consulted.
    answered = prompt.response is not None and target is S.COMPLETED

    with pytest.raises(ResponseAlreadyRecorded if answered else InvalidTransition) as raised:
        MOVES[target](prompt)

    if isinstance(raised.value, InvalidTransition):
        assert (raised.value.current, raised.value.target) == (current.value, target.value)
    assert (prompt.status, prompt.timestamps, prompt.fault, prompt.response) == before
    assert prompt.pull_events() == []


def test_the_forbidden_list_covers_what_the_issue_names() -> None:
    assert (S.COMPLETED, S.CANCELLED) in FORBIDDEN
    assert (S.COMPLETED, S.FAULTED) in FORBIDDEN
    assert (S.RESPONDED, S.FAULTED) in FORBIDDEN
    assert (S.CREATED, S.SUBMITTED) in FORBIDDEN
    assert all((S.CANCELLED, t) in FORBIDDEN for t in MOVES)


def test_faulting_keeps_the_code_and_detail() -> None:
    prompt = prompt_in(S.SUBMITTED)
    prompt.fail(Fault("genai_timeout", "no answer in 300 s"), AT)

    assert prompt.fault == Fault("genai_timeout", "no answer in 300 s")
    (event,) = prompt.pull_events()
    assert isinstance(event, events.PromptFaulted)
    assert (event.code, event.detail) == ("genai_timeout", "no answer in 300 s")


def test_the_same_answer_twice_is_a_harmless_no_op() -> None:
    prompt = prompt_in(S.SUBMITTED)
    assert prompt.record_response(ANSWER) is True
    prompt.pull_events()

    assert prompt.record_response(PromptResponse.of("Looks good", {"tokens": 12}, AT)) is False
    assert prompt.status is S.COMPLETED
    assert prompt.pull_events() == []


def test_a_different_answer_after_completion_is_refused() -> None:
    prompt = prompt_in(S.SUBMITTED)
    prompt.record_response(ANSWER)

    with pytest.raises(ResponseAlreadyRecorded):
        prompt.record_response(PromptResponse.of("Another answer", {}, AT))
    assert prompt.response == ANSWER


def test_the_answer_hash_is_over_canonical_json_whatever_the_key_order() -> None:
    one = PromptResponse.of("x", {"b": 1, "a": [1, {"d": 2, "c": 3}]}, AT)
    two = PromptResponse.of("x", {"a": [1, {"c": 3, "d": 2}], "b": 1}, AT)

    assert one.sha256 == two.sha256
    assert len(one.sha256) == 64
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


def test_preparing_records_the_stored_objects() -> None:
    prompt = prompt_in(S.PREPARING)
    ref = ObjectRef("original", "prompts/abc/data.zip", 1024, "application/zip")

    prompt.mark_prepared(AT, (ref,))

    assert prompt.objects == (ref,)


@pytest.mark.parametrize("kind", ["", "Generic", "x" * 65, "has space", "9lives"])
def test_a_malformed_kind_is_refused(kind: str) -> None:
    with pytest.raises(InvalidPromptData):
        Prompt.create(owner="o", content="c", at=T0, kind=kind)


def test_timestamps_are_timezone_aware() -> None:
    prompt = prompt_in(S.SUBMITTED)
    prompt.record_response(ANSWER)
    assert all(t.tzinfo is not None for t in prompt.timestamps.values())
    assert prompt.updated_at == AT
