"""Bodies of the operational endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class HealthBody(BaseModel):
    status: str
    detail: str


class BacklogBody(BaseModel):
    prompts: int = Field(description="Prompts accepted and not yet handed to a GenAI provider.")
    max_prompts: int | None = Field(description="BACKLOG_MAX_PROMPTS; null when unbounded.")
    refused: dict[str, int] = Field(description="Creations refused so far, by problem type.")


class ReadinessBody(BaseModel):
    ready: bool
    checks: dict[str, bool]
    backlog: BacklogBody | None = None


class InfoBody(BaseModel):
    name: str
    version: str
    build: str
    started_at: datetime
    redis: str
