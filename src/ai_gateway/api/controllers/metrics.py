"""Prometheus metrics: this process's counters and histograms, then the queue, outbox and
readiness gauges read when scraped."""

from dishka import FromDishka
from dishka.integrations.fastapi import DishkaRoute
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ai_gateway.application.mediator import Mediator
from ai_gateway.application.ports.limits import Backlog, Refusal
from ai_gateway.application.ports.operations import Measurement, MetricsSource
from ai_gateway.application.queries.check_readiness import CheckReadiness
from ai_gateway.metrics.access import MetricsAccess, Verdict
from ai_gateway.metrics.exposition import BuildInfo, Snapshot, render

router = APIRouter(tags=["App"], route_class=DishkaRoute)


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics(
    request: Request,
    source: FromDishka[MetricsSource],
    mediator: FromDishka[Mediator],
    access: FromDishka[MetricsAccess],
    build: FromDishka[BuildInfo],
) -> Response:
    """The Prometheus text format; open on loopback, else with the METRICS_TOKEN bearer token."""
    peer = request.client.host if request.client else None
    verdict = access.judge(peer, request.headers.get("authorization"))
    if verdict is Verdict.UNAUTHENTICATED:
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    if verdict is Verdict.FORBIDDEN:
        return Response(status_code=403)
    readiness = await mediator.send(CheckReadiness())
    backlog = _backlog(readiness.backlog) if readiness.backlog is not None else []
    gauges = [
        *backlog,
        *await source.read(),
        *(_up(name, up) for name, up in readiness.checks.items()),
    ]
    body = render([build, Snapshot(gauges)])
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _up(dependency: str, up: bool) -> Measurement:
    return Measurement(
        "ai_gateway_dependency_up",
        "Whether a dependency answered its readiness check at this scrape (1) or not (0).",
        1.0 if up else 0.0,
        (("dependency", dependency),),
    )


def _backlog(backlog: Backlog) -> list[Measurement]:
    """The backlog the readiness check read, and the creations refused so far (ADR 0019)."""
    found = [
        Measurement(
            "ai_gateway_prompt_backlog",
            "Prompts accepted and not yet handed to a GenAI provider.",
            backlog.prompts,
        )
    ]
    if backlog.bound is not None:
        found.append(
            Measurement(
                "ai_gateway_prompt_backlog_max",
                "BACKLOG_MAX_PROMPTS: past it, creation answers 503.",
                backlog.bound,
            )
        )
    found.extend(
        Measurement(
            f"ai_gateway_prompts_refused_{reason.value.replace('-', '_')}",
            f"Creations refused so far, all processes together: {reason.value}.",
            backlog.refusals.get(reason.value, 0),
        )
        for reason in Refusal
    )
    return found
