"""Operational endpoints: liveness, readiness, build information."""

from dataclasses import dataclass
from datetime import datetime

from dishka import FromDishka
from dishka.integrations.fastapi import DishkaRoute
from fastapi import APIRouter
from starlette.responses import JSONResponse

from ai_gateway.api.schemas.app import BacklogBody, HealthBody, InfoBody, ReadinessBody
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.queries.check_readiness import CheckReadiness

router = APIRouter(prefix="/api/app", tags=["App"], route_class=DishkaRoute)


@dataclass(frozen=True, slots=True)
class AppInfo:
    name: str
    version: str
    build: str
    started_at: datetime
    redis: str


@router.get("/health")
async def health() -> HealthBody:
    """Liveness: the process answers. Checks no dependency."""
    return HealthBody(status="ok", detail="The AI Gateway is online.")


@router.get(
    "/ready",
    response_model=ReadinessBody,
    responses={503: {"model": ReadinessBody, "description": "A dependency is down"}},
)
async def ready(mediator: FromDishka[Mediator]) -> JSONResponse:
    """Readiness: every dependency answers (503 with the failing checks otherwise)."""
    readiness = await mediator.send(CheckReadiness())
    backlog = readiness.backlog
    body = ReadinessBody(
        ready=readiness.ready,
        checks=readiness.checks,
        backlog=None
        if backlog is None
        else BacklogBody(
            prompts=backlog.prompts, max_prompts=backlog.bound, refused=backlog.refusals
        ),
    )
    return JSONResponse(body.model_dump(), status_code=200 if readiness.ready else 503)


@router.get("/info")
async def info(app_info: FromDishka[AppInfo]) -> InfoBody:
    """Version, build and how storage is provided."""
    return InfoBody(
        name=app_info.name,
        version=app_info.version,
        build=app_info.build,
        started_at=app_info.started_at,
        redis=app_info.redis,
    )
