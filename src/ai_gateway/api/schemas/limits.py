"""Bodies of the caller-limit endpoints (ADR 0019)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ai_gateway.application.ports.limits import Standing
from ai_gateway.application.queries.get_caller_limits import CallerLimitsView
from ai_gateway.domain.limits import MAX_WEIGHT, PERIODS, CallerLimits, Priority

RATE_PATTERN = rf"^\s*[1-9][0-9]*/({'|'.join(PERIODS)})\s*$"
"""``Rate.parse``'s form, for the schema; the body is read by ``CallerLimits.read`` all the same."""


class LimitsBody(BaseModel):
    """A caller's limits; a limit left out (or null) is no limit."""

    model_config = ConfigDict(extra="forbid")

    requests: Annotated[str | None, Field(pattern=RATE_PATTERN, examples=["600/minute"])] = None
    in_flight: Annotated[int | None, Field(ge=1, description="Prompts not yet final.")] = None
    tokens_per_day: Annotated[
        int | None, Field(ge=1, description="Provider tokens per UTC day.")
    ] = None
    priority: Priority = Field(
        default=Priority.INTERACTIVE, description="The default priority of the caller's prompts."
    )
    weight: Annotated[int, Field(ge=1, le=MAX_WEIGHT)] = Field(
        default=1, description="The caller's share of a provider that is the bottleneck."
    )

    @classmethod
    def of(cls, limits: CallerLimits | None) -> LimitsBody | None:
        return None if limits is None else cls.model_validate(limits.to_json())

    def limits(self) -> CallerLimits:
        return CallerLimits.read(self.model_dump(mode="json"))


class RemainingBody(BaseModel):
    """What is left; null where no such limit applies."""

    requests: int | None
    requests_reset_seconds: int | None = Field(
        description="Seconds until the request quota is whole again."
    )
    in_flight: int | None
    tokens: int | None
    tokens_reset_seconds: int | None = Field(description="Seconds until the UTC day ends.")


class MyLimitsBody(BaseModel):
    caller: str
    limits: LimitsBody | None = Field(description="Null: no limit applies to you.")
    remaining: RemainingBody | None


class CallerLimitsBody(BaseModel):
    caller: str
    limits: LimitsBody | None = Field(description="In force: the stored ones, else configured.")
    stored: LimitsBody | None = Field(description="Set at run time; win over the configured.")
    configured: LimitsBody | None = Field(
        description="From CALLER_LIMITS: the caller's entry, else the '*' one."
    )


def remaining_body(standing: Standing | None) -> RemainingBody | None:
    if standing is None:
        return None
    return RemainingBody(
        requests=standing.requests_remaining,
        requests_reset_seconds=standing.requests_reset_seconds,
        in_flight=standing.in_flight_remaining,
        tokens=standing.tokens_remaining,
        tokens_reset_seconds=standing.tokens_reset_seconds,
    )


def caller_limits_body(view: CallerLimitsView) -> CallerLimitsBody:
    return CallerLimitsBody(
        caller=view.caller,
        limits=LimitsBody.of(view.effective),
        stored=LimitsBody.of(view.stored),
        configured=LimitsBody.of(view.configured),
    )
