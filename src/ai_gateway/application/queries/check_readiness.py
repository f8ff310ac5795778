"""Check that every dependency the gateway needs to take traffic answers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.application.mediator import Query
from ai_gateway.application.ports.limits import Backlog, BacklogGauge
from ai_gateway.application.ports.operations import HealthProbe

PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: dict[str, bool]
    backlog: Backlog | None = None

    @property
    def ready(self) -> bool:
        return all(self.checks.values())


@dataclass(frozen=True, slots=True)
class CheckReadiness(Query[Readiness]):
    pass


class CheckReadinessHandler:
    """Runs the probes concurrently; a probe that hangs past the timeout counts as down. The
    backlog, when a gauge is given and answers, is shown beside them (ADR 0019)."""

    def __init__(self, probes: Sequence[HealthProbe], backlog: BacklogGauge | None = None) -> None:
        self._probes = tuple(probes)
        self._backlog = backlog

    async def handle(self, _: CheckReadiness) -> Readiness:
        results = await asyncio.gather(*(self._probe(p) for p in self._probes))
        checks = dict(zip((p.name for p in self._probes), results, strict=True))
        return Readiness(checks, await self._read_backlog())

    async def _read_backlog(self) -> Backlog | None:
        if self._backlog is None:
            return None
        try:
            return await asyncio.wait_for(self._backlog.read(), PROBE_TIMEOUT_S)
        except (TimeoutError, DependencyUnavailable):
            return None  # the Redis probe reports it

    @staticmethod
    async def _probe(probe: HealthProbe) -> bool:
        try:
            return await asyncio.wait_for(probe.check(), PROBE_TIMEOUT_S)
        except TimeoutError:
            return False
