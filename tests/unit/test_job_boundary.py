"""The job boundary: whatever a step raises settles the job; nothing escapes to the worker."""

from __future__ import annotations

import asyncio

import pytest

from ai_gateway.application.errors import ConcurrencyConflict, DependencyUnavailable
from ai_gateway.application.jobs import FailureSettler, RetryPolicy, bounded_wait
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.domain.prompt import Prompt, PromptStatus
from tests.factories import StepClock
from tests.fakes import InMemoryPromptRepository, RecordingQueue

POLICY = RetryPolicy(max_attempts=3, base_seconds=1, max_seconds=10, step_deadline=0.05)


async def settled(work: BaseException | None, attempt: int = 1) -> tuple[Prompt, RecordingQueue]:
    repo, queue, clock = InMemoryPromptRepository(), RecordingQueue(), StepClock()
    prompt = Prompt.create(owner="apikey:mosaic", content="x", at=clock())
    await repo.add(prompt)

    async def step() -> None:
        if work is None:
            await asyncio.sleep(1)  # over the step deadline
        else:
            raise work

    await FailureSettler(repo, queue, POLICY, clock).run(
        Job(JobStep.PREPARE, prompt.id, attempt), step()
    )
    return repo.prompts[prompt.id], queue


async def test_a_defect_faults_the_prompt_at_once_with_internal_error() -> None:
    prompt, queue = await settled(KeyError("no such field"))
    assert prompt.status is PromptStatus.FAULTED
    assert prompt.fault is not None
    assert prompt.fault.code == "internal_error"
    assert "KeyError" not in prompt.fault.detail
    assert queue.jobs == []


async def test_a_step_over_its_deadline_is_retried_as_a_step_timeout() -> None:
    prompt, queue = await settled(None)
    assert prompt.status is PromptStatus.CREATED
    assert queue.steps() == [("prepare", prompt.id, 2)]


async def test_a_step_over_its_deadline_on_the_last_attempt_faults() -> None:
    prompt, _ = await settled(None, attempt=3)
    assert prompt.fault is not None
    assert prompt.fault.code == "step_timeout"


async def test_an_outage_is_retried_with_a_code_named_after_the_dependency() -> None:
    prompt, queue = await settled(DependencyUnavailable("OAuth2 token endpoint"), attempt=3)
    assert prompt.fault is not None
    assert prompt.fault.code == "oauth2_token_endpoint_unavailable"
    assert queue.jobs == []


async def test_a_lost_race_is_retried_as_a_concurrent_change() -> None:
    retried, queue = await settled(ConcurrencyConflict("p-1"))
    last, _ = await settled(ConcurrencyConflict("p-1"), attempt=3)

    assert retried.status is PromptStatus.CREATED
    assert queue.steps() == [("prepare", retried.id, 2)]
    assert last.fault is not None
    assert last.fault.code == "concurrent_change"


@pytest.mark.parametrize(
    ("asked", "wait"),
    [
        (None, 0.0),
        (-5.0, 0.0),
        (float("nan"), 0.0),
        (float("inf"), 40.0),
        (1e300, 40.0),
        (7.0, 7.0),
    ],
)
def test_a_requested_wait_is_bounded_before_it_is_scheduled(
    asked: float | None, wait: float
) -> None:
    assert bounded_wait(asked, 40.0) == wait


@pytest.mark.parametrize(
    ("prepared", "step"), [(False, "the prepare step"), (True, "the submit step")]
)
async def test_a_dead_lettered_preparation_names_the_step_its_prompt_was_in(
    prepared: bool, step: str
) -> None:
    """The submission runs under its preparation's stream entry (ADR 0032): an entry that crashed
    every worker once its prompt was prepared failed in the submission."""
    repo, clock = InMemoryPromptRepository(), StepClock()
    prompt = Prompt.create(owner="apikey:mosaic", content="x", at=clock())
    if prepared:
        prompt.start_preparing(clock())
        prompt.mark_prepared(clock(), ())
    await repo.add(prompt)

    failed = await FailureSettler(repo, RecordingQueue(), POLICY, clock).dead_letter(
        Job(JobStep.PREPARE, prompt.id, 1)
    )

    fault = repo.prompts[prompt.id].fault
    assert fault is not None
    assert fault.code == "internal_error"
    assert fault.detail == f"{step} failed repeatedly inside the gateway"
    assert f"the {failed} step" == step  # what the dead letter is listed under


class CancelledMeanwhile(InMemoryPromptRepository):
    """The first save loses its race to an operator's cancel."""

    async def save(self, prompt: Prompt) -> None:
        if prompt.status is PromptStatus.FAULTED and not self.conflicts_to_raise:
            stored = self.prompts[prompt.id]
            if not stored.is_terminal:
                stored.cancel(prompt.updated_at)
                stored.version += 1
                raise ConcurrencyConflict(prompt.id)
        await super().save(prompt)


async def test_a_dead_letter_is_named_from_the_prompt_as_last_read() -> None:
    """A prepared prompt cancelled while its crashed entry was being buried: the entry is listed
    under its own step, not under the submission the first read pointed to."""
    repo, clock = CancelledMeanwhile(), StepClock()
    prompt = Prompt.create(owner="apikey:mosaic", content="x", at=clock())
    prompt.start_preparing(clock())
    prompt.mark_prepared(clock(), ())
    await repo.add(prompt)

    failed = await FailureSettler(repo, RecordingQueue(), POLICY, clock).dead_letter(
        Job(JobStep.PREPARE, prompt.id, 1)
    )

    assert repo.prompts[prompt.id].status is PromptStatus.CANCELLED
    assert repo.prompts[prompt.id].fault is None
    assert failed is JobStep.PREPARE
