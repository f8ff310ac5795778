"""The console's pages: each reads through the same queries as the API, as the operator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from dishka import FromDishka
from dishka.integrations.fastapi import DishkaRoute
from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ai_gateway.api.console.access import ConsoleAccess
from ai_gateway.api.console.render import Pages
from ai_gateway.api.console.views import timeline
from ai_gateway.application.errors import NotFound, ValidationFailed
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.queries.check_readiness import CheckReadiness
from ai_gateway.application.queries.get_prompt import GetPrompt
from ai_gateway.application.queries.list_prompts import ListPrompts
from ai_gateway.domain.prompt import PromptStatus, is_prompt_id
from ai_gateway.domain.values import KIND_MAX_LENGTH

router = APIRouter(prefix="/console", route_class=DishkaRoute, include_in_schema=False)

PAGE_SIZE = 25
Text = Annotated[str | None, Query(max_length=128)]


@router.get("")
async def console_root() -> Response:
    return RedirectResponse("/console/", status_code=status.HTTP_308_PERMANENT_REDIRECT)


@router.get("/", response_class=HTMLResponse)
async def overview(
    request: Request,
    access: FromDishka[ConsoleAccess],
    pages: FromDishka[Pages],
    mediator: FromDishka[Mediator],
) -> Response:
    session = access.session(request)
    readiness = await mediator.send(CheckReadiness())
    recent = await mediator.send(ListPrompts(principal=session.principal, limit=10))
    return pages.render(
        request, session, "overview.html", title="Overview", readiness=readiness,
        recent=recent.items, now=datetime.now(UTC),
    )  # fmt: skip


@router.get("/prompts", response_class=HTMLResponse)
async def prompts(
    request: Request,
    access: FromDishka[ConsoleAccess],
    pages: FromDishka[Pages],
    mediator: FromDishka[Mediator],
    status_filter: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    kind: Annotated[str | None, Query(max_length=KIND_MAX_LENGTH)] = None,
    request_id: Text = None,
    find: Text = None,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    session = access.session(request)
    if find and is_prompt_id(find.strip().lower()):
        target = f"/console/prompts/{find.strip().lower()}"
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    filters = {"status": status_filter or "", "kind": kind or "", "request_id": request_id or ""}
    error = "That is not a prompt id: ids are 32 hexadecimal digits." if find else None
    chosen = PromptStatus(status_filter) if status_filter in set(PromptStatus) else None
    try:
        page = await mediator.send(
            ListPrompts(
                principal=session.principal, status=chosen, kind=kind or None,
                request_id=request_id or None, limit=PAGE_SIZE, cursor=cursor or None,
            )
        )  # fmt: skip
        items, next_cursor = page.items, page.next_cursor
    except ValidationFailed:
        items, next_cursor = (), None
        error = "That page link is out of date. Start again from the first page."
    return pages.render(
        request, session, "prompts.html", title="Prompts", items=items, filters=filters,
        statuses=list(PromptStatus), next_cursor=next_cursor, error=error,
        now=datetime.now(UTC),
    )  # fmt: skip


@router.get("/prompts/{prompt_id}", response_class=HTMLResponse)
async def prompt_page(
    prompt_id: str,
    request: Request,
    access: FromDishka[ConsoleAccess],
    pages: FromDishka[Pages],
    mediator: FromDishka[Mediator],
) -> Response:
    session = access.session(request)
    try:
        prompt = await mediator.send(GetPrompt(principal=session.principal, prompt_id=prompt_id))
    except NotFound:
        return pages.render(
            request, session, "not_found.html", status_code=404, title="Prompt not found",
            prompt_id=prompt_id,
        )  # fmt: skip
    return pages.render(
        request, session, "prompt.html", title=f"Prompt {prompt.id}", prompt=prompt,
        steps=timeline(prompt), now=datetime.now(UTC),
    )  # fmt: skip
