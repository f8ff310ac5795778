"""CloudEvents ingestion: other services' events, kept and handled by type."""

from dataclasses import dataclass

from dishka import FromDishka
from dishka.integrations.fastapi import DishkaRoute
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ai_gateway.api.auth.dependencies import SECURITY_SCHEMES
from ai_gateway.api.auth.policy import EVENT_ROUTES, EventsCaller
from ai_gateway.api.cloudevents_http import BATCH, STRUCTURED, read_events
from ai_gateway.api.errors import problem_responses
from ai_gateway.application.commands.ingest_events import IngestEvents
from ai_gateway.application.mediator import Mediator

router = APIRouter(prefix="/api", tags=["Events"], route_class=DishkaRoute)


@dataclass(frozen=True, slots=True)
class Handshake:
    """What the webhook handshake grants: ``allowed_rate`` events a minute, or ``*``."""

    allowed_rate: str


class IngestedBody(BaseModel):
    accepted: int
    duplicates: int
    unknown: int


@router.post(
    "/events",
    status_code=202,
    dependencies=[*SECURITY_SCHEMES, *EVENT_ROUTES],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                STRUCTURED: {},
                BATCH: {},
                "application/json": {"description": "binary mode"},
            },
        }
    },
    responses=problem_responses(
        _400="Malformed event or missing required attributes",
        _401="Missing or invalid credentials",
        _403="The caller lacks the events scope",
        _415="Not a CloudEvents content type",
    ),
)
async def ingest(
    request: Request, caller: FromDishka[EventsCaller], mediator: FromDishka[Mediator]
) -> IngestedBody:
    """Accept CloudEvents (structured, binary or batch mode). Each is kept before the answer; a
    (source, id) already received is counted as a duplicate and not handled again."""
    events = read_events(request.headers, await request.body())
    result = await mediator.send(IngestEvents(tuple(events), sender=caller.identities))
    return IngestedBody(
        accepted=result.accepted, duplicates=result.duplicates, unknown=result.unknown
    )


@router.options("/events", include_in_schema=False)
async def handshake(request: Request, policy: FromDishka[Handshake]) -> Response:
    """The CloudEvents webhook abuse-protection handshake: consent for any origin, at the
    configured rate."""
    origin = request.headers.get("webhook-request-origin")
    if origin is None:
        return Response(status_code=204, headers={"Allow": "POST, OPTIONS"})
    return Response(
        status_code=200,
        headers={
            "WebHook-Allowed-Origin": origin,
            "WebHook-Allowed-Rate": policy.allowed_rate,
            "Allow": "POST, OPTIONS",
        },
    )
