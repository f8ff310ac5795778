"""Prepare a prompt: download its data package, check it, keep it and its files in object storage.

CREATED → PREPARING → PREPARED; without a data package, in one write (both steps and both events
recorded, in order). Then the submit step follows at once in the same worker (ADR 0032) when the
prompt's provider takes it at once (``at_once``: not paced), else it is queued. Run again on a
prompt that is already past this step, it only queues what comes next; on a settled prompt it
does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ai_gateway.application.errors import ConcurrencyConflict
from ai_gateway.application.jobs import FailureSettler
from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.clock import Clock
from ai_gateway.application.ports.data import ArchiveReader, DataSource
from ai_gateway.application.ports.jobs import Job, JobQueue, JobStep
from ai_gateway.application.ports.prompts import PromptRepository
from ai_gateway.application.prompt_changes import SAVE_ATTEMPTS
from ai_gateway.application.prompt_files import PromptFiles
from ai_gateway.application.tracing import note_prompt, span
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.domain.values import ObjectRef

logger = logging.getLogger("ai_gateway.jobs")


@dataclass(frozen=True, slots=True)
class PreparePrompt(Command[Job | None]):
    """Returns the submit step when it follows at once, in the same worker."""

    job: Job


class PreparePromptHandler:
    def __init__(
        self,
        prompts: PromptRepository,
        queue: JobQueue,
        source: DataSource,
        archives: ArchiveReader,
        files: PromptFiles,
        settler: FailureSettler,
        clock: Clock,
        at_once: Callable[[Prompt], bool] | None = None,
    ) -> None:
        """``at_once``: whether a prepared prompt's submission may follow at once; without it,
        every submission is queued."""
        self._prompts = prompts
        self._queue = queue
        self._source = source
        self._archives = archives
        self._files = files
        self._settler = settler
        self._clock = clock
        self._at_once = at_once

    async def handle(self, command: PreparePrompt) -> Job | None:
        prompt = await self._settler.run(command.job, self._prepare(command.job))
        if prompt is None:
            return None
        if self._at_once is not None and self._at_once(prompt):
            return Job.following(JobStep.SUBMIT, prompt)
        await self._queue.enqueue(Job.of(JobStep.SUBMIT, prompt))
        return None

    async def _prepare(self, job: Job) -> Prompt | None:
        """The prompt it prepared; None when there is nothing more to do here."""
        for _ in range(SAVE_ATTEMPTS):
            prompt = await self._prompts.get(job.prompt_id)
            if prompt is None or prompt.is_terminal:
                return None
            note_prompt(prompt)
            if prompt.status not in {PromptStatus.CREATED, PromptStatus.PREPARING}:
                await self._queue.enqueue(Job.of(JobStep.SUBMIT, prompt))
                return None
            try:
                if prompt.status is PromptStatus.CREATED:
                    prompt.start_preparing(self._clock())
                    if prompt.data_url:  # a download takes a while: PREPARING shows it
                        await self._prompts.save(prompt)
                objects = await self._keep_data(prompt)
                prompt.mark_prepared(self._clock(), objects)
                await self._prompts.save(prompt)
            except ConcurrencyConflict:
                continue  # another writer (a cancel, a duplicate job) was first: look again
            return prompt
        return None

    async def _keep_data(self, prompt: Prompt) -> tuple[ObjectRef, ...]:
        if not prompt.data_url:
            return ()
        with span("download"):
            data = await self._source.fetch(prompt.data_url)
        files = self._archives.files(data.content, data.content_type) or ()
        with span("object_store.write"):
            refs = await self._files.keep_data(prompt.id, data, files)
        logger.info(
            "prompt %s: %d bytes of data kept, %d files", prompt.id, len(data.content), len(files)
        )
        return refs
