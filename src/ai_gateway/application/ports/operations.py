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
    """One gauge value; ``labels`` are (name, value) pairs, the same names for one ``name``."""

    name: str
    help: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()


class MetricsSource(Protocol):
    """Operational numbers read when metrics are scraped."""

    async def read(self) -> Sequence[Measurement]: ...


class DeliveryMeter(Protocol):
    """Counts callback attempts by outcome: ``delivered``, ``retried``, ``gone`` (the receiver
    or the egress guard refused for good) or ``dead_lettered`` (out of attempts); ``attempts``
    is how many the delivery has made so far."""

    def callback_attempted(self, outcome: str, attempts: int) -> None: ...
