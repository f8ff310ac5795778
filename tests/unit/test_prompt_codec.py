"""The stored JSON form of a prompt keeps every field, and the public views pick from it."""

from __future__ import annotations

import json
from dataclasses import MISSING, fields
from datetime import timedelta

from ai_gateway.domain.history import ActionName, Step
from ai_gateway.domain.limits import Priority
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import (
    Delivery,
    DeliveryState,
    Fault,
    ObjectRef,
    PromptResponse,
    TokenUsage,
)
from ai_gateway.integration.event_outbox import public_summary
from ai_gateway.integration.prompt_codec import STORED_FIELDS, dump_prompt, load_prompt
from ai_gateway.integration.webhook_sender import callback_payload
from tests.factories import T0


def every_field_set() -> Prompt:
    prompt = Prompt.create(
        owner="apikey:mosaic",
        content="Review this item",
        at=T0,
        kind="mosaic_item",
        context={"item_id": "I-1", "n": [1, 2.5, None], "flags": {"improve_stem": True}},
        callback_url="https://mosaic.example/cb",
        data_url="https://mosaic.example/item.zip",
        request_id="r-1",
        metadata={"source": "test"},
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        tracestate="vendor=opaque",
        priority=Priority.BATCH,
        caller="mosaic",
    )
    prompt.start_preparing(T0 + timedelta(seconds=1))
    zipped = ObjectRef("data", "p/data.zip", 10, "application/zip")
    prompt.mark_prepared(T0 + timedelta(seconds=2), (zipped,))
    prompt.mark_submitted(T0 + timedelta(seconds=3), "openai")
    prompt.record_response(
        PromptResponse.of("ok", {"model": "m"}, T0 + timedelta(seconds=4)), TokenUsage.of(9, 2)
    )
    attempt = T0 + timedelta(seconds=5)
    prompt.record_delivery(
        Delivery("msg_1").attempted("204", attempt, state=DeliveryState.DELIVERED)
    )
    prompt.record_action(ActionName.REDELIVER, "jwt:operator", attempt)
    prompt.version = 7
    prompt.pull_events()
    return prompt


def faulted() -> Prompt:
    prompt = Prompt.create(owner="jwt:svc", content="x", at=T0)
    prompt.fail(Fault("data_too_large", "more than 10 bytes"), T0 + timedelta(seconds=1))
    prompt.pull_events()
    return prompt


def waiting() -> Prompt:
    prompt = Prompt.create(owner="apikey:batch", content="x", at=T0)
    prompt.start_preparing(T0)
    prompt.mark_prepared(T0)
    prompt.wait_for("provider_quota", T0 + timedelta(seconds=30))
    prompt.pull_events()
    return prompt


def test_the_samples_set_every_stored_field_so_none_can_be_forgotten() -> None:
    samples = (every_field_set(), faulted(), waiting())
    for f in fields(Prompt):
        if f.name in STORED_FIELDS:
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            assert any(getattr(p, f.name) != default for p in samples), f.name


def test_a_stored_prompt_reads_back_equal() -> None:
    for prompt in (every_field_set(), faulted(), waiting()):
        raw = dump_prompt(prompt)
        assert set(json.loads(raw)) == set(STORED_FIELDS)
        assert load_prompt(raw, prompt.version) == prompt


def test_a_record_stored_before_steps_were_kept_has_one_step_per_status_reached() -> None:
    prompt = every_field_set()
    record = json.loads(dump_prompt(prompt))
    del record["steps"], record["history"]
    record["delivery"].pop("log")

    loaded = load_prompt(json.dumps(record), prompt.version)

    assert loaded.steps == [Step(s.value, at) for s, at in prompt.timestamps.items()]
    assert [s.status for s in loaded.timeline][-1] == PromptStatus.RESPONDED
    assert loaded.history == []
    assert loaded.callback_attempts == ()


def test_the_public_views_carry_neither_the_prompt_text_nor_the_callback_url() -> None:
    prompt = every_field_set()
    for view in (public_summary(prompt), callback_payload(prompt)):
        text = json.dumps(view)
        assert prompt.content not in text
        assert "mosaic.example/cb" not in text
    summary = public_summary(prompt)
    answer = PromptResponse.of("ok", {"model": "m"}, T0 + timedelta(seconds=4)).to_json()
    assert summary["response"] == {"sha256": answer["sha256"], "created_at": answer["created_at"]}
    assert callback_payload(prompt)["status"] == "completed"  # RESPONDED, yet the outcome is sent
    assert summary["usage"] == {"input_tokens": 9, "output_tokens": 2, "total_tokens": 11}


def test_a_record_stored_before_usage_was_kept_reads_as_without_usage() -> None:
    prompt = faulted()
    data = json.loads(dump_prompt(prompt))
    del data["usage"]
    assert load_prompt(json.dumps(data), prompt.version).usage is None
