"""Bodies of the admin API beyond the prompt itself: dead letters, the overview, the callers."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from pydantic import BaseModel, Field

from ai_gateway.api.schemas.limits import LimitsBody
from ai_gateway.api.schemas.prompts import PromptSummaryBody, prompt_summary
from ai_gateway.application.commands.requeue_dead_letters import (
    DELIVERY_PREFIX,
    JOB_PREFIX,
    MAX_IDS,
    Outcome,
)
from ai_gateway.application.ports.limits import CallerAccount, LimitsSource
from ai_gateway.application.queries.get_overview import Overview
from ai_gateway.application.queries.list_callers import CallerList
from ai_gateway.application.queries.list_dead_letters import DeadLetterList
from ai_gateway.domain.prompt import PromptStatus
from ai_gateway.domain.values import DeliveryState


class DeadJobBody(BaseModel):
    id: str = Field(description="Pass to `POST /api/admin/dead-letters/requeue`.")
    step: str
    prompt_id: str
    attempt: int
    deliveries: int = Field(description="How many times the job ran before it was moved aside.")
    dead_lettered_at: datetime


class DeadDeliveryBody(BaseModel):
    id: str = Field(description="Pass to `POST /api/admin/dead-letters/requeue`.")
    prompt: PromptSummaryBody
    webhook_id: str
    state: DeliveryState
    attempts: int
    last_status: str | None
    dead_lettered_at: datetime | None


class DeadLettersBody(BaseModel):
    jobs: list[DeadJobBody] = Field(description="Jobs that crashed every worker, newest first.")
    deliveries: list[DeadDeliveryBody] = Field(
        description="Callbacks whose every attempt failed, most recent first."
    )


class RequeueBody(BaseModel):
    ids: list[str] = Field(
        min_length=1,
        max_length=MAX_IDS,
        description=f"Dead letters as listed: `{JOB_PREFIX}<id>` or "
        f"`{DELIVERY_PREFIX}<prompt id>`.",
    )


class RequeuedBody(BaseModel):
    id: str
    outcome: Outcome
    detail: str | None


class RequeueResultBody(BaseModel):
    results: list[RequeuedBody]


class QueueBody(BaseModel):
    queued: int = Field(description="Jobs in the queue, running or waiting for a worker.")
    delayed: int = Field(description="Jobs waiting for a retry or a callback attempt.")
    lag_seconds: float = Field(description="How long the oldest queued job has waited.")


class AnswerTimesBody(BaseModel):
    p50_seconds: float | None
    p95_seconds: float | None
    sampled: int = Field(description="How many of the latest answers these are over.")


class OverviewBody(BaseModel):
    prompts_last_hour: dict[PromptStatus, int] = Field(
        description="Prompts that entered each status in the last hour."
    )
    prompts_last_day: dict[PromptStatus, int] = Field(
        description="The same over the last day (the current hour and the 23 before)."
    )
    completions_per_minute: list[int] = Field(
        description="Answers received in each of the last 60 minutes, oldest first."
    )
    creation_to_answer: AnswerTimesBody
    queue: QueueBody
    dead_jobs: int
    dead_deliveries: int
    outbox_backlog: int = Field(description="Lifecycle events waiting for the event sink.")
    dependencies: dict[str, bool] = Field(description="Each dependency's readiness.")


class CallerUsageBody(BaseModel):
    """What a caller uses now, whatever its limits."""

    requests: int = Field(
        description="Creations in the current rate window (counted while a rate limit applies)."
    )
    requests_reset_seconds: int | None = Field(
        description="Seconds until that window closes; null when none is open."
    )
    in_flight: int = Field(description="Prompts not yet final.")
    tokens_today: int = Field(description="Provider tokens spent this UTC day.")


class CallerLimitsFields(BaseModel):
    caller: str = Field(
        description="The name its limits go by, as in `/api/admin/callers/{name}/limits`."
    )
    limits: LimitsBody | None = Field(description="In force; null: no limit applies.")
    limits_source: LimitsSource | None = Field(
        description="`stored`: set at run time, `configured`: from CALLER_LIMITS."
    )
    usage: CallerUsageBody


class ApiKeyBody(CallerLimitsFields):
    name: str
    owner: str
    scopes: list[str]


class CallerSeenBody(CallerLimitsFields):
    owner: str = Field(description="The owner id its prompts carry (the `caller` filter).")
    method: str
    client_id: str | None = Field(description="The OAuth2 client a token was issued to.")
    scopes: list[str]
    last_seen: datetime


class CallersBody(BaseModel):
    api_keys: list[ApiKeyBody] = Field(description="The API keys configured (never the keys).")
    seen: list[CallerSeenBody] = Field(description="Callers seen, most recent first.")


def dead_letters_body(found: DeadLetterList) -> DeadLettersBody:
    jobs = [
        DeadJobBody(id=f"{JOB_PREFIX}{j.id}", step=j.step, prompt_id=j.prompt_id,
                    attempt=j.attempt, deliveries=j.deliveries, dead_lettered_at=j.at)
        for j in found.jobs
    ]  # fmt: skip
    deliveries = [
        DeadDeliveryBody(id=f"{DELIVERY_PREFIX}{p.id}", prompt=prompt_summary(p),
                         webhook_id=p.delivery.webhook_id, state=p.delivery.state,
                         attempts=p.delivery.attempts, last_status=p.delivery.last_status,
                         dead_lettered_at=p.delivery.last_attempt_at)
        for p in found.deliveries
        if p.delivery is not None
    ]  # fmt: skip
    return DeadLettersBody(jobs=jobs, deliveries=deliveries)


def overview_body(overview: Overview) -> OverviewBody:
    n = overview.numbers
    return OverviewBody(
        prompts_last_hour={PromptStatus(s): c for s, c in n.last_hour.items()},
        prompts_last_day={PromptStatus(s): c for s, c in n.last_day.items()},
        completions_per_minute=list(n.completions_per_minute),
        creation_to_answer=AnswerTimesBody(
            p50_seconds=n.answer_seconds_p50,
            p95_seconds=n.answer_seconds_p95,
            sampled=n.answers_sampled,
        ),
        queue=QueueBody(
            queued=n.jobs_queued, delayed=n.jobs_delayed, lag_seconds=n.queue_lag_seconds
        ),
        dead_jobs=n.dead_jobs,
        dead_deliveries=n.dead_deliveries,
        outbox_backlog=n.outbox_backlog,
        dependencies=overview.readiness,
    )


def callers_body(callers: CallerList) -> CallersBody:
    return CallersBody(
        api_keys=[
            ApiKeyBody(name=k.name, owner=k.owner, scopes=sorted(k.scopes),
                       **_limits_fields(callers.accounts[k.owner]))
            for k in callers.api_keys
        ],
        seen=[
            CallerSeenBody(owner=c.owner, method=c.method, client_id=c.client_id,
                           scopes=sorted(c.scopes), last_seen=c.last_seen,
                           **_limits_fields(callers.accounts[c.owner]))
            for c in callers.seen
        ],
    )  # fmt: skip


class _LimitsFields(TypedDict):
    caller: str
    limits: LimitsBody | None
    limits_source: LimitsSource | None
    usage: CallerUsageBody


def _limits_fields(account: CallerAccount) -> _LimitsFields:
    usage = account.usage
    return {
        "caller": account.caller,
        "limits": LimitsBody.of(account.effective),
        "limits_source": account.source,
        "usage": CallerUsageBody(
            requests=usage.requests,
            requests_reset_seconds=usage.requests_reset_seconds,
            in_flight=usage.in_flight,
            tokens_today=usage.tokens_today,
        ),
    }
