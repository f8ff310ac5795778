"""Prompt endpoints: parse, authenticate, send one message through the mediator, map the result."""

from typing import Annotated

from dishka import FromDishka
from dishka.integrations.fastapi import DishkaRoute
from fastapi import APIRouter, Header, Query, Response, status
from pydantic import AnyUrl

from ai_gateway.api.auth.dependencies import SECURITY_SCHEMES
from ai_gateway.api.auth.policy import PROMPT_ROUTES, PromptCaller
from ai_gateway.api.direct_route import DirectRoute
from ai_gateway.api.errors import problem_responses
from ai_gateway.api.rate_limit_headers import rate_limit_headers
from ai_gateway.api.schemas.prompts import (
    CreatedItemPromptBody,
    CreatedPromptBody,
    CreateItemPromptBody,
    CreatePromptBody,
    PromptBody,
    PromptPageBody,
    prompt_body,
    prompt_page_body,
)
from ai_gateway.application.commands.cancel_prompt import CancelPrompt
from ai_gateway.application.commands.create_item_prompt import CreateItemPrompt
from ai_gateway.application.commands.create_prompt import CreatedPrompt, CreatePrompt
from ai_gateway.application.commands.deliver_callback import RedeliverCallback
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.queries.get_prompt import GetPrompt
from ai_gateway.application.queries.list_prompts import ListPrompts
from ai_gateway.domain.prompt import PromptStatus
from ai_gateway.domain.values import KIND_MAX_LENGTH

router = APIRouter(
    prefix="/api/prompts",
    tags=["Prompts"],
    route_class=DishkaRoute,
    dependencies=[*SECURITY_SCHEMES, *PROMPT_ROUTES],
)
direct = APIRouter(
    prefix="/api/prompts",
    tags=["Prompts"],
    route_class=DirectRoute,
    dependencies=[*SECURITY_SCHEMES, *PROMPT_ROUTES],
)
"""The routes clients call most: creating a prompt and reading one (ADR 0033)."""

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retry-safe creation: the same key with the same body answers the first "
        "result again; with another body it is refused (422). Keys are per caller, kept 24 h.",
    ),
]
# The filters and paging of a prompt list, the caller's own as an operator's
KindFilter = Annotated[str | None, Query(max_length=KIND_MAX_LENGTH)]
RequestIdFilter = Annotated[str | None, Query(max_length=128)]
PageLimit = Annotated[int, Query(ge=1, le=100)]
PageCursor = Annotated[str | None, Query(max_length=256)]
_PROBLEMS = problem_responses(
    _401="Missing or invalid credentials",
    _403="The caller lacks the prompt scope, or may only read this prompt (admin)",
    _404="No such prompt (or not yours)",
    _409="The prompt's status forbids this",
    _413="Body too large",
    _422="Invalid request",
    _429="A caller limit refuses the prompt (rate, in flight or token budget): see Retry-After",
    _503="A dependency is unavailable, or the gateway's backlog is full: see Retry-After",
)


def _url(url: AnyUrl | None) -> str | None:
    return None if url is None else str(url)


def _created(result: CreatedPrompt, response: Response) -> None:
    response.headers["Location"] = f"/api/prompts/{result.id}"
    response.headers.update(rate_limit_headers(result.standing))
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"


@router.post(
    "/item", status_code=status.HTTP_201_CREATED, response_model=CreatedItemPromptBody,
    responses=_PROBLEMS,
)  # fmt: skip
async def create_item_prompt(
    body: CreateItemPromptBody,
    principal: FromDishka[PromptCaller],
    response: Response,
    mediator: FromDishka[Mediator],
    idempotency_key: IdempotencyKey = None,
) -> CreatedItemPromptBody:
    """Submit an exam item for GenAI review; the answer comes later (poll, or callback_url)."""
    result = await mediator.send(
        CreateItemPrompt(
            principal=principal,
            item=body.item_review(),
            content=body.content,
            callback_url=_url(body.callback_url),
            item_url=_url(body.item_url),
            request_id=body.request_id,
            priority=body.priority,
            idempotency_key=idempotency_key,
        )
    )
    _created(result, response)
    return CreatedItemPromptBody(
        id=result.id,
        prompt_id=result.id,
        status=result.status,
        created_at=result.created_at,
        request_id=result.request_id,
    )


@direct.post("", status_code=status.HTTP_201_CREATED, responses=_PROBLEMS)
async def create_prompt(
    body: CreatePromptBody,
    principal: FromDishka[PromptCaller],
    response: Response,
    mediator: FromDishka[Mediator],
    idempotency_key: IdempotencyKey = None,
) -> CreatedPromptBody:
    """Submit a prompt of any kind."""
    result = await mediator.send(
        CreatePrompt(
            principal=principal,
            content=body.content,
            kind=body.kind,
            context=body.context,
            callback_url=_url(body.callback_url),
            data_url=_url(body.data_url),
            request_id=body.request_id,
            metadata=body.metadata,
            priority=body.priority,
            idempotency_key=idempotency_key,
        )
    )
    _created(result, response)
    return CreatedPromptBody(
        id=result.id,
        status=result.status,
        created_at=result.created_at,
        request_id=result.request_id,
    )


@router.get("", responses=_PROBLEMS)
async def list_prompts(
    principal: FromDishka[PromptCaller],
    mediator: FromDishka[Mediator],
    status: PromptStatus | None = None,
    kind: KindFilter = None,
    request_id: RequestIdFilter = None,
    limit: PageLimit = 20,
    cursor: PageCursor = None,
) -> PromptPageBody:
    """The caller's prompts, newest first; follow `next_cursor` for more."""
    page = await mediator.send(
        ListPrompts(
            principal=principal,
            status=status,
            kind=kind,
            request_id=request_id,
            limit=limit,
            cursor=cursor,
        )
    )
    return prompt_page_body(page)


@direct.get("/{prompt_id}", responses=_PROBLEMS)
async def get_prompt(
    prompt_id: str, principal: FromDishka[PromptCaller], mediator: FromDishka[Mediator]
) -> PromptBody:
    """Status, step timestamps, fault, and the answer once COMPLETED."""
    prompt = await mediator.send(GetPrompt(principal=principal, prompt_id=prompt_id))
    return prompt_body(prompt)


@router.post("/{prompt_id}/cancel", responses=_PROBLEMS)
async def cancel_prompt(
    prompt_id: str, principal: FromDishka[PromptCaller], mediator: FromDishka[Mediator]
) -> PromptBody:
    """Cancel a prompt that has no answer yet; 409 once it is settled. Only its owner may."""
    prompt = await mediator.send(CancelPrompt(principal=principal, prompt_id=prompt_id))
    return prompt_body(prompt)


@router.post(
    "/{prompt_id}/callback/redeliver", status_code=status.HTTP_202_ACCEPTED, responses=_PROBLEMS
)
async def redeliver_callback(
    prompt_id: str, principal: FromDishka[PromptCaller], mediator: FromDishka[Mediator]
) -> PromptBody:
    """Call the client back again (e.g. after a dead-lettered delivery), from a first attempt.
    Only the prompt's owner may."""
    prompt = await mediator.send(RedeliverCallback(principal=principal, prompt_id=prompt_id))
    return prompt_body(prompt)
