"""Bodies of the operational endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class HealthBody(BaseModel):
    status: str
    detail: str


class ReadinessBody(BaseModel):
    ready: bool
    checks: dict[str, bool]


class InfoBody(BaseModel):
    name: str
    version: str
    build: str
    started_at: datetime
    redis: str
