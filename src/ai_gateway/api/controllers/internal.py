"""Endpoints for internal services: the GenAI service posts its answers here."""

from typing import Annotated

from dishka import FromDishka
from dishka.integrations.fastapi import DishkaRoute
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, JsonValue

from ai_gateway.api.auth.dependencies import SECURITY_SCHEMES
from ai_gateway.api.auth.policy import INTERNAL_ROUTES, InternalCaller
from ai_gateway.api.errors import problem_responses
from ai_gateway.api.schemas.prompts import UsageBody
from ai_gateway.application.commands.record_response import (
    MAX_ANSWER_CHARACTERS,
    RecordPromptResponse,
)
from ai_gateway.application.mediator import Mediator
from ai_gateway.domain.prompt import PromptStatus
from ai_gateway.domain.values import TokenUsage

router = APIRouter(
    prefix="/api/internal",
    tags=["Internal"],
    route_class=DishkaRoute,
    dependencies=[*SECURITY_SCHEMES, *INTERNAL_ROUTES],
)


class AnswerBody(BaseModel):
    content: Annotated[str, Field(max_length=MAX_ANSWER_CHARACTERS)]
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    usage: UsageBody | None = Field(default=None, description="The tokens the answer cost.")


class RecordedBody(BaseModel):
    prompt_id: str
    sha256: str = Field(description="Identifies the answer; the same answer again is a no-op.")
    status: PromptStatus


@router.post(
    "/prompts/{prompt_id}/response",
    responses=problem_responses(
        _401="Missing or invalid token",
        _403="The token lacks the internal scope, or is not the GenAI service's",
        _404="No such prompt",
        _409="Another answer is already recorded, or the prompt is settled",
    ),
)
async def record_response(
    prompt_id: str,
    body: AnswerBody,
    caller: FromDishka[InternalCaller],
    mediator: FromDishka[Mediator],
    response: Response,
) -> RecordedBody:
    """Record the GenAI answer to a prompt. Posting the same answer again is a harmless 200.
    Only the identities of GENAI_SERVICE_IDENTITIES may answer."""
    recorded = await mediator.send(
        RecordPromptResponse(
            prompt_id=prompt_id,
            content=body.content,
            metadata=body.metadata,
            answerer=caller.identities,
            usage=None if body.usage is None else TokenUsage(**body.usage.model_dump()),
        )
    )
    if recorded.duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    return RecordedBody(
        prompt_id=recorded.prompt_id, sha256=recorded.sha256, status=recorded.status
    )
