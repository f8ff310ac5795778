"""The admin API beyond single prompts: dead letters and their requeue, the overview, and the
callers. Admin scope only, as the rest of ``/api/admin``."""

from typing import Annotated

from dishka import FromDishka
from dishka.integrations.fastapi import DishkaRoute
from fastapi import APIRouter, Query

from ai_gateway.api.auth.dependencies import SECURITY_SCHEMES
from ai_gateway.api.auth.policy import ADMIN_ROUTES, AdminCaller
from ai_gateway.api.controllers.admin import PROBLEMS
from ai_gateway.api.schemas.admin import (
    CallersBody,
    DeadLettersBody,
    OverviewBody,
    RequeueBody,
    RequeuedBody,
    RequeueResultBody,
    callers_body,
    dead_letters_body,
    overview_body,
)
from ai_gateway.application.commands.requeue_dead_letters import RequeueDeadLetters
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.queries.get_overview import GetOverview
from ai_gateway.application.queries.list_callers import ListCallers
from ai_gateway.application.queries.list_dead_letters import ListDeadLetters

router = APIRouter(
    prefix="/api/admin",
    tags=["Admin"],
    route_class=DishkaRoute,
    dependencies=[*SECURITY_SCHEMES, *ADMIN_ROUTES],
)


@router.get("/dead-letters", responses=PROBLEMS)
async def list_dead_letters(
    principal: FromDishka[AdminCaller],
    mediator: FromDishka[Mediator],
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> DeadLettersBody:
    """Dead-lettered jobs (they crashed every worker) and callback deliveries (every attempt
    failed), newest first."""
    found = await mediator.send(ListDeadLetters(principal=principal, limit=limit))
    return dead_letters_body(found)


@router.post("/dead-letters/requeue", responses=PROBLEMS)
async def requeue_dead_letters(
    body: RequeueBody, principal: FromDishka[AdminCaller], mediator: FromDishka[Mediator]
) -> RequeueResultBody:
    """Requeue dead letters, one or many: a job's prompt is retried from the step that failed (a
    delivery job's callback is made again), a callback delivered again from a first attempt.
    Each id has its own outcome; one that cannot be requeued leaves the others requeued."""
    results = await mediator.send(RequeueDeadLetters(principal=principal, ids=tuple(body.ids)))
    return RequeueResultBody(
        results=[RequeuedBody(id=r.id, outcome=r.outcome, detail=r.detail) for r in results]
    )


@router.get("/overview", responses=PROBLEMS)
async def overview(
    principal: FromDishka[AdminCaller], mediator: FromDishka[Mediator]
) -> OverviewBody:
    """Prompts by status over the last hour and day, completions per minute, creation-to-answer
    p50/p95, queue depth and lag, dead letters, outbox backlog and each dependency's readiness."""
    return overview_body(await mediator.send(GetOverview(principal=principal)))


@router.get("/callers", responses=PROBLEMS)
async def callers(
    principal: FromDishka[AdminCaller], mediator: FromDishka[Mediator]
) -> CallersBody:
    """The API keys configured and the callers seen (API keys, JWT clients), with their scopes."""
    return callers_body(await mediator.send(ListCallers(principal=principal)))
