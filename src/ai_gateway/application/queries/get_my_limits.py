"""A caller's own limits, and what is left of them."""

from __future__ import annotations

from dataclasses import dataclass

from ai_gateway.application.mediator import Query
from ai_gateway.application.ports.limits import CallerLimitsStore, Standing
from ai_gateway.application.principal import Principal


@dataclass(frozen=True, slots=True)
class MyLimits:
    caller: str
    standing: Standing | None
    """None: no limit applies to the caller."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GetMyLimits(Query[MyLimits]):
    principal: Principal


class GetMyLimitsHandler:
    def __init__(self, limits: CallerLimitsStore) -> None:
        self._limits = limits

    async def handle(self, query: GetMyLimits) -> MyLimits:
        caller = query.principal.caller_name
        limits = await self._limits.limits_for(caller)
        if limits is None:
            return MyLimits(caller, None)
        standing = await self._limits.standing(caller, query.principal.owner, limits)
        return MyLimits(caller, standing)
