"""Preparing a prompt: fetching its data, keeping it, and what happens when that fails."""

from __future__ import annotations

import pytest

from ai_gateway.application.commands.prepare_prompt import PreparePrompt
from ai_gateway.application.commands.submit_prompt import SubmitPrompt
from ai_gateway.application.errors import DependencyUnavailable, TransientFailure
from ai_gateway.application.ports.data import FetchedData
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.domain.prompt import Prompt
from tests.factories import zip_of
from tests.fakes import RoomPacer, ScriptedSource
from tests.unit.pipeline import Pipeline, S


async def test_a_prompt_without_data_is_prepared_in_one_write_and_its_submission_follows() -> None:
    p = Pipeline()
    prompt = await p.add()

    following = await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))

    stored = p.stored(prompt)
    assert stored.status is S.PREPARED
    assert stored.version == 2  # CREATED → PREPARING → PREPARED in one write
    assert stored.timestamps[S.PREPARING] < stored.timestamps[S.PREPARED]
    assert [step.status for step in stored.steps][-2:] == ["preparing", "prepared"]
    assert p.queue.jobs == []  # nothing queued: the submission follows in the same worker
    assert following == Job(JobStep.SUBMIT, prompt.id, 1)
    assert following.prompt is not None
    assert following.prompt.version == stored.version
    assert p.source.urls == []


async def test_the_submission_that_follows_completes_the_prompt_without_reading_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = Pipeline()
    prompt = await p.add()
    following = await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))
    assert following is not None
    reads: list[str] = []
    read = p.repo.get

    async def counted(prompt_id: str) -> Prompt | None:
        reads.append(prompt_id)
        return await read(prompt_id)

    monkeypatch.setattr(p.repo, "get", counted)

    await p.mediator.send(SubmitPrompt(following))

    assert p.stored(prompt).status is S.COMPLETED
    assert [r.prompt_id for r in p.provider.requests] == [prompt.id]
    assert reads == []


async def test_a_paced_providers_submission_is_queued_not_run_at_once() -> None:
    p = Pipeline(pacer=RoomPacer("scripted"))
    prompt = await p.add()

    following = await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))

    assert following is None
    assert p.stored(prompt).status is S.PREPARED
    assert p.queue.steps() == [("submit", prompt.id, 1)]


async def test_a_prompt_with_data_is_preparing_while_its_data_is_fetched() -> None:
    data = zip_of({"item.json": b"{}"})
    p = Pipeline(source=ScriptedSource(FetchedData(data, "application/zip")))
    prompt = await p.add(data_url="https://mosaic.example/item.zip")

    following = await p.mediator.send(PreparePrompt(Job(JobStep.PREPARE, prompt.id)))

    assert p.stored(prompt).version == 3  # PREPARING written before the download, then PREPARED
    assert following == Job(JobStep.SUBMIT, prompt.id, 1)


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
