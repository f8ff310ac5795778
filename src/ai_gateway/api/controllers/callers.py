"""Caller limits (ADR 0019): a caller reads its own; an administrator reads and sets anyone's."""

from typing import Annotated

from dishka import FromDishka
from dishka.integrations.fastapi import DishkaRoute
from fastapi import APIRouter, Path

from ai_gateway.api.auth.dependencies import SECURITY_SCHEMES
from ai_gateway.api.auth.policy import ADMIN_ROUTES, PROMPT_ROUTES, PromptCaller
from ai_gateway.api.errors import problem_responses
from ai_gateway.api.schemas.limits import (
    CallerLimitsBody,
    LimitsBody,
    MyLimitsBody,
    caller_limits_body,
    remaining_body,
)
from ai_gateway.application.commands.set_caller_limits import SetCallerLimits
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.principal import Principal
from ai_gateway.application.queries.get_caller_limits import GetCallerLimits
from ai_gateway.application.queries.get_my_limits import GetMyLimits

me = APIRouter(
    prefix="/api/me",
    tags=["Limits"],
    route_class=DishkaRoute,
    dependencies=[*SECURITY_SCHEMES, *PROMPT_ROUTES],
)
admin = APIRouter(
    prefix="/api/admin/callers",
    tags=["Limits"],
    route_class=DishkaRoute,
    dependencies=[*SECURITY_SCHEMES, *ADMIN_ROUTES],
)

CallerName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        description="An API key's name, or a token's client id; `*` is everyone else.",
    ),
]
_PROBLEMS = problem_responses(
    _401="Missing or invalid credentials",
    _403="The caller lacks the admin scope",
    _422="Invalid limits",
    _503="A dependency is unavailable",
)


@me.get("/limits", responses=_PROBLEMS)
async def my_limits(
    principal: FromDishka[PromptCaller], mediator: FromDishka[Mediator]
) -> MyLimitsBody:
    """Your limits, and what is left of them now."""
    mine = await mediator.send(GetMyLimits(principal=principal))
    standing = mine.standing
    return MyLimitsBody(
        caller=mine.caller,
        limits=LimitsBody.of(None if standing is None else standing.limits),
        remaining=remaining_body(standing),
    )


@admin.get("/{name}/limits", responses=_PROBLEMS)
async def caller_limits(
    name: CallerName, principal: FromDishka[Principal], mediator: FromDishka[Mediator]
) -> CallerLimitsBody:
    """A caller's limits: those in force, those set at run time, those configured."""
    view = await mediator.send(GetCallerLimits(principal=principal, caller=name))
    return caller_limits_body(view)


@admin.put("/{name}/limits", responses=_PROBLEMS)
async def set_caller_limits(
    name: CallerName,
    body: LimitsBody,
    principal: FromDishka[Principal],
    mediator: FromDishka[Mediator],
) -> CallerLimitsBody:
    """Set a caller's limits, in force at once on this process and within a second on every
    other; each change is a `caller.limits.changed` CloudEvent."""
    view = await mediator.send(
        SetCallerLimits(principal=principal, caller=name, limits=body.limits())
    )
    return caller_limits_body(view)


@admin.delete("/{name}/limits", responses=_PROBLEMS)
async def reset_caller_limits(
    name: CallerName, principal: FromDishka[Principal], mediator: FromDishka[Mediator]
) -> CallerLimitsBody:
    """Drop the limits set at run time: the configured ones apply again."""
    view = await mediator.send(SetCallerLimits(principal=principal, caller=name, limits=None))
    return caller_limits_body(view)
