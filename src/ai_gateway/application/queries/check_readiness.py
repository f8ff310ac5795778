"""Check that every dependency the gateway needs to take traffic answers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from ai_gateway.application.mediator import Query
from ai_gateway.application.ports.operations import HealthProbe

PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: dict[str, bool]

    @property
    def ready(self) -> bool:
        return all(self.checks.values())


@dataclass(frozen=True, slots=True)
class CheckReadiness(Query[Readiness]):
    pass


class CheckReadinessHandler:
    """Runs the probes concurrently; a probe that hangs past the timeout counts as down."""

    def __init__(self, probes: Sequence[HealthProbe]) -> None:
        self._probes = tuple(probes)

    async def handle(self, _: CheckReadiness) -> Readiness:
        results = await asyncio.gather(*(self._probe(p) for p in self._probes))
        return Readiness(dict(zip((p.name for p in self._probes), results, strict=True)))

    @staticmethod
    async def _probe(probe: HealthProbe) -> bool:
        try:
            return await asyncio.wait_for(probe.check(), PROBE_TIMEOUT_S)
        except TimeoutError:
            return False
