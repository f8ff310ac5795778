"""What operators watch: whether each dependency answers, and the numbers behind the metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class HealthProbe(Protocol):
    """Answers whether one dependency is reachable now."""

    name: str

    async def check(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Measurement:
    name: str
    help: str
    value: float


class MetricsSource(Protocol):
    """Operational numbers read when metrics are scraped."""

    async def read(self) -> Sequence[Measurement]: ...
