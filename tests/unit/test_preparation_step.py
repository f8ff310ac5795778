"""Preparing a prompt: fetching its data, keeping it, and what happens when that fails."""

from __future__ import annotations

from ai_gateway.application.commands.prepare_prompt import PreparePrompt
from ai_gateway.application.commands.submit_prompt import SubmitPrompt
from ai_gateway.application.errors import DependencyUnavailable, TransientFailure
from ai_gateway.application.ports.data import FetchedData
from ai_gateway.application.ports.jobs import Job, JobStep
from tests.factories import zip_of
from tests.fakes import ScriptedSource
from tests.unit.pipeline import Pipeline, S


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
