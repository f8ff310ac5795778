"""What the workers of these tests are given as ``on_dead`` when no job should dead-letter."""

from __future__ import annotations

from ai_gateway.application.ports.jobs import Job, JobStep


async def never_dead(job: Job) -> JobStep:
    raise AssertionError(f"{job} dead-lettered")
