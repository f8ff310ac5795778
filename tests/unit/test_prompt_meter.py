"""What a prompt's stored writes count: each step's time since creation, the end, the answers
that came later, tokens, and callback outcomes; labels stay within configured names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from ai_gateway.domain.prompt import Prompt
from ai_gateway.domain.values import Fault, PromptResponse, TokenUsage
from ai_gateway.metrics.labels import BoundedLabel, Callers, Kinds
from ai_gateway.metrics.prompts import PromptMeter

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
METER = PromptMeter(
    kinds=Kinds({"generic", "mosaic_item"}),
    callers=Callers({"apikey:mosaic": "mosaic"}, limited={"reviews-app"}),
    providers=("meter-test", "fallback"),
)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def created(kind: str = "generic", owner: str = "apikey:mosaic") -> Prompt:
    prompt = Prompt.create(owner=owner, content="x", at=T0, kind=kind)
    METER.written(prompt, prompt.pull_events())
    return prompt


def step(prompt: Prompt, after: float, *moves: str) -> None:
    at = T0 + timedelta(seconds=after)
    for move in moves:
        getattr(prompt, move)(at)
    METER.written(prompt, prompt.pull_events())


def test_each_step_is_timed_from_creation_and_the_end_counted_once() -> None:
    name = "ai_gateway_prompt_step_seconds_count"
    submitted_before = sample(name, kind="mosaic_item", step="submitted")
    slow_before = sample("ai_gateway_prompt_step_seconds_bucket", kind="mosaic_item",
                         step="faulted", le="10.0")  # fmt: skip
    finished = "ai_gateway_prompts_finished_total"
    faults_before = sample(finished, kind="mosaic_item", status="faulted", fault="genai_refused")

    prompt = created("mosaic_item")
    step(prompt, 1, "start_preparing", "mark_prepared", "mark_submitted")
    prompt.fail(Fault("genai_refused", "no"), T0 + timedelta(seconds=42))
    METER.written(prompt, prompt.pull_events())

    assert sample(name, kind="mosaic_item", step="submitted") == submitted_before + 1
    faulted_fast = sample("ai_gateway_prompt_step_seconds_bucket", kind="mosaic_item",
                          step="faulted", le="10.0")  # fmt: skip
    assert faulted_fast == slow_before  # 42 s is past the 10 s bucket
    assert sample(finished, kind="mosaic_item", status="faulted", fault="genai_refused") == (
        faults_before + 1
    )


def test_an_answer_stored_apart_from_the_submission_counts_as_asynchronous() -> None:
    answers = "ai_gateway_provider_async_answers_total"
    before = sample(answers, provider="meter-test")
    answered_at_once = created()
    step(answered_at_once, 1, "start_preparing", "mark_prepared")
    answered_at_once.mark_submitted(T0)
    answered_at_once.record_response(PromptResponse.of("a", {}, T0))
    METER.written(answered_at_once, answered_at_once.pull_events())
    answered_later = created()
    step(answered_later, 1, "start_preparing", "mark_prepared", "mark_submitted")
    answered_later.record_response(PromptResponse.of("a", {}, T0 + timedelta(seconds=5)))
    METER.written(answered_later, answered_later.pull_events())

    assert sample(answers, provider="meter-test") == before + 1


def test_the_tokens_a_prompt_keeps_are_counted_by_model_and_caller() -> None:
    tokens = "ai_gateway_provider_tokens_total"
    labels = {"provider": "meter-test", "model": "m-1", "caller": "other"}
    before_in = sample(tokens, direction="in", **labels)
    before_out = sample(tokens, direction="out", **labels)
    prompt = created(owner="jwt:someone")
    step(prompt, 1, "start_preparing", "mark_prepared", "mark_submitted")
    prompt.record_response(PromptResponse.of("a", {"model": "m-1"}, T0), TokenUsage.of(12, 30))
    METER.written(prompt, prompt.pull_events())

    assert sample(tokens, direction="in", **labels) == before_in + 12
    assert sample(tokens, direction="out", **labels) == before_out + 30


def test_a_token_caller_with_configured_limits_is_counted_under_its_name() -> None:
    labels = {"kind": "generic", "caller": "reviews-app"}
    before = sample("ai_gateway_prompts_created_total", **labels)
    prompt = Prompt.create(owner="jwt:ana", content="x", at=T0, caller="reviews-app")
    METER.written(prompt, prompt.pull_events())
    assert sample("ai_gateway_prompts_created_total", **labels) == before + 1


def test_kinds_and_callers_without_a_configured_name_are_other() -> None:
    before = sample("ai_gateway_prompts_created_total", kind="other", caller="other")
    created(kind="chosen-by-the-caller", owner="jwt:a-subject")
    assert sample("ai_gateway_prompts_created_total", kind="other", caller="other") == before + 1


def test_a_bounded_label_reports_values_past_its_limit_as_other() -> None:
    label = BoundedLabel(limit=2, length=5)
    assert [label(v) for v in ("a", "b", "c", "a", "bbbbbbbb")] == ["a", "b", "other", "a", "other"]
