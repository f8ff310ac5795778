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
from ai_gateway.application.errors import NotFound, ValidationFailed
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.queries.get_overview import GetOverview
from ai_gateway.application.queries.list_prompts import ListPrompts
from ai_gateway.application.queries.prompt_downloads import GetPromptDownloads
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
    overview_now = await mediator.send(GetOverview(principal=session.principal))
    recent = await mediator.send(ListPrompts(principal=session.principal, limit=10))
    return pages.render(
        request, session, "overview.html", title="Overview", overview=overview_now,
        statuses=list(PromptStatus), recent=recent.items,
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
    caller: Text = None,
    created_after: Text = None,
    created_before: Text = None,
    find: Text = None,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    session = access.session(request)
    if find and is_prompt_id(find.strip().lower()):
        target = f"/console/prompts/{find.strip().lower()}"
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    filters = {
        "status": status_filter or "", "kind": kind or "", "request_id": request_id or "",
        "caller": caller or "", "created_after": created_after or "",
        "created_before": created_before or "",
    }  # fmt: skip
    error = "That is not a prompt id: ids are 32 hexadecimal digits." if find else None
    chosen = PromptStatus(status_filter) if status_filter in set(PromptStatus) else None
    try:
        page = await mediator.send(
            ListPrompts(
                principal=session.principal, status=chosen, kind=kind or None,
                request_id=request_id or None, caller=caller or None,
                created_after=_utc(created_after), created_before=_utc(created_before),
                limit=PAGE_SIZE, cursor=cursor or None,
            )
        )  # fmt: skip
        items, next_cursor = page.items, page.next_cursor
    except (ValidationFailed, ValueError) as exc:
        items, next_cursor = (), None
        error = f"These filters cannot be used: {exc}. Correct them, or clear them."
    return pages.render(
        request, session, "prompts.html", title="Prompts", items=items, filters=filters,
        statuses=list(PromptStatus), next_cursor=next_cursor, error=error,
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
        shown = await mediator.send(
            GetPromptDownloads(principal=session.principal, prompt_id=prompt_id)
        )
    except NotFound:
        return pages.render(
            request, session, "not_found.html", status_code=404, title="Prompt not found",
            prompt_id=prompt_id,
        )  # fmt: skip
    return pages.render(
        request, session, "prompt.html", title=f"Prompt {shown.prompt.id}", prompt=shown.prompt,
        downloads=shown.downloads, done=request.query_params.get("done"),
        events=pages.lifecycle_events([step.status for step in shown.prompt.timeline]),
    )  # fmt: skip


def _utc(text: str | None) -> datetime | None:
    """A time from a ``datetime-local`` field, read as UTC (the console shows UTC throughout)."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
