"""What an operator does from the console: cancel, redeliver, retry, requeue dead letters; and the
pages of dead letters and callers. Every action is the admin API's use case, sent as the signed-in
operator, so the prompt's history keeps who took it and when, and a CloudEvent tells of it."""

from __future__ import annotations

from typing import Final

from dishka import FromDishka
from dishka.integrations.fastapi import DishkaRoute
from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ai_gateway.api.console.access import ConsoleAccess, checked_form
from ai_gateway.api.console.render import Pages
from ai_gateway.api.console.session import ConsoleSession
from ai_gateway.application.commands.cancel_prompt import CancelPrompt
from ai_gateway.application.commands.deliver_callback import RedeliverCallback
from ai_gateway.application.commands.requeue_dead_letters import (
    MAX_IDS,
    Requeued,
    RequeueDeadLetters,
)
from ai_gateway.application.commands.retry_prompt import RetryPrompt
from ai_gateway.application.errors import ApplicationError
from ai_gateway.application.mediator import Command, Mediator
from ai_gateway.application.principal import Principal
from ai_gateway.application.queries.list_callers import ListCallers
from ai_gateway.application.queries.list_dead_letters import ListDeadLetters
from ai_gateway.domain.errors import DomainError
from ai_gateway.domain.prompt import Prompt, is_prompt_id

router = APIRouter(prefix="/console", route_class=DishkaRoute, include_in_schema=False)

ACTIONS: Final = ("cancel", "redeliver", "retry")


def _command(action: str, principal: Principal, prompt_id: str) -> Command[Prompt]:
    if action == "cancel":
        return CancelPrompt(principal=principal, prompt_id=prompt_id, operator=True)
    if action == "redeliver":
        return RedeliverCallback(principal=principal, prompt_id=prompt_id, operator=True)
    return RetryPrompt(principal=principal, prompt_id=prompt_id)


@router.post("/prompts/{prompt_id}/{action}", response_class=HTMLResponse)
async def act_on_prompt(
    prompt_id: str,
    action: str,
    request: Request,
    access: FromDishka[ConsoleAccess],
    pages: FromDishka[Pages],
    mediator: FromDishka[Mediator],
) -> Response:
    session = access.session(request)
    await checked_form(request, session)
    if action not in ACTIONS or not is_prompt_id(prompt_id):
        return RedirectResponse("/console/prompts", status_code=status.HTTP_303_SEE_OTHER)
    try:
        await mediator.send(_command(action, session.principal, prompt_id))
    except (ApplicationError, DomainError) as refused:
        return pages.render(
            request, session, "action_failed.html", status_code=status.HTTP_409_CONFLICT,
            title=f"Could not {action}", action=action, prompt_id=prompt_id, reason=str(refused),
        )  # fmt: skip
    back = f"/console/prompts/{prompt_id}?done={action}"
    return RedirectResponse(back, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/dead-letters", response_class=HTMLResponse)
async def dead_letters(
    request: Request,
    access: FromDishka[ConsoleAccess],
    pages: FromDishka[Pages],
    mediator: FromDishka[Mediator],
) -> Response:
    session = access.session(request)
    return await _dead_letters_page(request, session, pages, mediator)


@router.post("/dead-letters/requeue", response_class=HTMLResponse)
async def requeue(
    request: Request,
    access: FromDishka[ConsoleAccess],
    pages: FromDishka[Pages],
    mediator: FromDishka[Mediator],
) -> Response:
    """Requeues the dead letters ticked (or the one whose button was pressed)."""
    session = access.session(request)
    form = await checked_form(request, session)
    ids = tuple(form.get("id", []))[:MAX_IDS]
    error = None
    results: tuple[Requeued, ...] = ()
    if not ids:
        error = "Nothing was chosen: tick the dead letters to requeue, then press Requeue."
    else:
        try:
            results = await mediator.send(RequeueDeadLetters(principal=session.principal, ids=ids))
        except ApplicationError as refused:
            error = f"{refused}. Reload the page and choose again."
    return await _dead_letters_page(request, session, pages, mediator, results, error)


async def _dead_letters_page(
    request: Request,
    session: ConsoleSession,
    pages: Pages,
    mediator: Mediator,
    results: tuple[Requeued, ...] = (),
    error: str | None = None,
) -> Response:
    """The dead letters as they are now, after what a requeue did (``results``) or refused."""
    dead = await mediator.send(ListDeadLetters(principal=session.principal, limit=MAX_IDS))
    return pages.render(
        request, session, "dead_letters.html", title="Dead letters", dead=dead, results=results,
        error=error,
    )  # fmt: skip


@router.get("/callers", response_class=HTMLResponse)
async def callers(
    request: Request,
    access: FromDishka[ConsoleAccess],
    pages: FromDishka[Pages],
    mediator: FromDishka[Mediator],
) -> Response:
    session = access.session(request)
    listed = await mediator.send(ListCallers(principal=session.principal))
    return pages.render(request, session, "callers.html", title="Callers", callers=listed)
