"""The admin API: what an operator (a caller with the admin scope) sees and does, on any caller's
prompts. The console's pages call the same use cases; each action is kept in the prompt's history
with who took it, and published as an ``action`` CloudEvent."""

from datetime import datetime
from typing import Annotated

from dishka import FromDishka
from dishka.integrations.fastapi import DishkaRoute
from fastapi import APIRouter, Query, status

from ai_gateway.api.auth.dependencies import SECURITY_SCHEMES
from ai_gateway.api.auth.policy import ADMIN_ROUTES, AdminCaller
from ai_gateway.api.controllers.prompts import KindFilter, PageCursor, PageLimit, RequestIdFilter
from ai_gateway.api.errors import problem_responses
from ai_gateway.api.schemas.prompts import PromptBody, PromptPageBody, prompt_body, prompt_page_body
from ai_gateway.application.commands.cancel_prompt import CancelPrompt
from ai_gateway.application.commands.deliver_callback import RedeliverCallback
from ai_gateway.application.commands.retry_prompt import RetryPrompt
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.queries.get_prompt import GetPrompt
from ai_gateway.application.queries.list_prompts import ListPrompts
from ai_gateway.domain.prompt import PromptStatus

router = APIRouter(
    prefix="/api/admin",
    tags=["Admin"],
    route_class=DishkaRoute,
    dependencies=[*SECURITY_SCHEMES, *ADMIN_ROUTES],
)

PROBLEMS = problem_responses(
    _401="Missing or invalid credentials",
    _403="The caller lacks the admin scope",
    _404="No such prompt",
    _409="The prompt's status forbids this",
    _422="Invalid request",
    _503="A dependency is unavailable",
)


@router.get("/prompts", responses=PROBLEMS)
async def list_prompts(
    principal: FromDishka[AdminCaller],
    mediator: FromDishka[Mediator],
    status: PromptStatus | None = None,
    kind: KindFilter = None,
    caller: Annotated[
        str | None, Query(max_length=256, description="An owner id, e.g. `apikey:mosaic`.")
    ] = None,
    request_id: RequestIdFilter = None,
    created_after: Annotated[datetime | None, Query(description="Inclusive.")] = None,
    created_before: Annotated[datetime | None, Query(description="Exclusive.")] = None,
    limit: PageLimit = 20,
    cursor: PageCursor = None,
) -> PromptPageBody:
    """Every caller's prompts, newest first, filtered; follow `next_cursor` for more."""
    page = await mediator.send(
        ListPrompts(
            principal=principal,
            status=status,
            kind=kind,
            caller=caller,
            request_id=request_id,
            created_after=created_after,
            created_before=created_before,
            limit=limit,
            cursor=cursor,
        )
    )
    return prompt_page_body(page)


@router.get("/prompts/{prompt_id}", responses=PROBLEMS)
async def get_prompt(
    prompt_id: str, principal: FromDishka[AdminCaller], mediator: FromDishka[Mediator]
) -> PromptBody:
    """Any caller's prompt, with its timeline, callback attempts and history."""
    return prompt_body(await mediator.send(GetPrompt(principal=principal, prompt_id=prompt_id)))


@router.post("/prompts/{prompt_id}/cancel", responses=PROBLEMS)
async def cancel_prompt(
    prompt_id: str, principal: FromDishka[AdminCaller], mediator: FromDishka[Mediator]
) -> PromptBody:
    """Cancel any caller's prompt that has no answer yet; 409 once it is settled."""
    command = CancelPrompt(principal=principal, prompt_id=prompt_id, operator=True)
    return prompt_body(await mediator.send(command))


@router.post(
    "/prompts/{prompt_id}/redeliver", status_code=status.HTTP_202_ACCEPTED, responses=PROBLEMS
)
async def redeliver_callback(
    prompt_id: str, principal: FromDishka[AdminCaller], mediator: FromDishka[Mediator]
) -> PromptBody:
    """Call the client back again, from a first attempt (e.g. after a dead-lettered delivery)."""
    command = RedeliverCallback(principal=principal, prompt_id=prompt_id, operator=True)
    return prompt_body(await mediator.send(command))


@router.post("/prompts/{prompt_id}/retry", status_code=status.HTTP_202_ACCEPTED, responses=PROBLEMS)
async def retry_prompt(
    prompt_id: str, principal: FromDishka[AdminCaller], mediator: FromDishka[Mediator]
) -> PromptBody:
    """Retry a FAULTED prompt from the step that failed: preparation, or submission when its
    data was already prepared. 409 unless FAULTED."""
    return prompt_body(await mediator.send(RetryPrompt(principal=principal, prompt_id=prompt_id)))
