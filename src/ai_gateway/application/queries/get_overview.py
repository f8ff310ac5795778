"""The operator's overview: prompts by status, throughput, answer times, queue, dead letters,
outbox, and each dependency's readiness."""

from __future__ import annotations

from dataclasses import dataclass

from ai_gateway.application.mediator import Mediator, Query
from ai_gateway.application.ports.clock import Clock
from ai_gateway.application.ports.overview import OverviewNumbers, OverviewSource
from ai_gateway.application.principal import Principal
from ai_gateway.application.queries.check_readiness import CheckReadiness
from ai_gateway.application.visibility import require_operator


@dataclass(frozen=True, slots=True)
class Overview:
    numbers: OverviewNumbers
    readiness: dict[str, bool]


@dataclass(frozen=True, slots=True, kw_only=True)
class GetOverview(Query[Overview]):
    principal: Principal


class GetOverviewHandler:
    """Raises Forbidden without the admin scope."""

    def __init__(self, source: OverviewSource, mediator: Mediator, clock: Clock) -> None:
        self._source = source
        self._mediator = mediator
        self._clock = clock

    async def handle(self, query: GetOverview) -> Overview:
        require_operator(query.principal, "see the overview")
        readiness = await self._mediator.send(CheckReadiness())
        return Overview(await self._source.read(self._clock()), readiness.checks)
